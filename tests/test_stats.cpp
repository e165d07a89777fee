// The stats module: the Gamma method against AR(1) series with known tau_int, its coverage and edge cases;
// derived quantities against linear error propagation and the jackknife; log-space importance weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "phi4flow/stats/gamma.hpp"
#include "phi4flow/stats/jackknife.hpp"
#include "phi4flow/stats/weights.hpp"

using namespace phi4flow::stats;

namespace {

// Unit-variance AR(1), started in equilibrium: tau_int = (1 + rho) / (2 (1 - rho)), Var(mean) -> 2 tau_int / N.
std::vector<double> ar1(double rho, std::size_t n, std::mt19937_64& gen, double offset = 0.0) {
  std::normal_distribution<double> eta(0.0, 1.0);
  const double noise = std::sqrt(1.0 - rho * rho);
  std::vector<double> x(n);
  double state = eta(gen);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = offset + state;
    state = rho * state + noise * eta(gen);
  }
  return x;
}

double exact_tau(double rho) {
  return (1.0 + rho) / (2.0 * (1.0 - rho));
}

std::vector<double> iid_normal(std::size_t n, double mean, std::mt19937_64& gen) {
  std::normal_distribution<double> dist(mean, 1.0);
  std::vector<double> x(n);
  for (double& v : x) v = dist(gen);
  return x;
}

}  // namespace

TEST(GammaMethod, Ar1TauIntAndErrorOfTheMean) {
  const std::size_t n = 200000;
  for (const double rho : {0.0, 0.5, 0.8}) {
    SCOPED_TRACE("rho = " + std::to_string(rho));
    std::mt19937_64 gen(20240611);
    const GammaResult r = gamma_method({ar1(rho, n, gen)});
    const double tau = exact_tau(rho);
    EXPECT_TRUE(r.window_found);
    EXPECT_NEAR(r.tau_int, tau, 4.0 * r.tau_int_error);
    EXPECT_NEAR(r.tau_int, tau, 0.1 * tau);
    const double exact_error = std::sqrt(2.0 * tau / static_cast<double>(n));
    EXPECT_NEAR(r.error, exact_error, 0.1 * exact_error);
    EXPECT_GT(r.error_of_error, 0.0);
    EXPECT_LT(r.error_of_error, 0.1 * r.error);
  }
}

TEST(GammaMethod, ReplicasOfDifferentLengthsAgreeWithOneLongChain) {
  const double rho = 0.8;
  std::mt19937_64 gen(7);
  const GammaResult one = gamma_method({ar1(rho, 200000, gen)});
  Replicas replicas;
  for (const std::size_t n_r : {20000, 35000, 45000, 100000}) replicas.push_back(ar1(rho, n_r, gen));
  const GammaResult many = gamma_method(replicas);
  EXPECT_TRUE(many.window_found);
  EXPECT_NEAR(many.tau_int, one.tau_int, 4.0 * std::hypot(one.tau_int_error, many.tau_int_error));
  EXPECT_NEAR(many.tau_int, exact_tau(rho), 4.0 * many.tau_int_error);
  EXPECT_NEAR(many.error, one.error, 4.0 * std::hypot(one.error_of_error, many.error_of_error));
}

TEST(GammaMethod, ErrorCoversTheTrueMean) {
  const int series = 200;
  std::mt19937_64 gen(314159);
  int covered = 0;
  for (int s = 0; s < series; ++s) {
    const GammaResult r = gamma_method({ar1(0.7, 5000, gen)});
    ASSERT_TRUE(r.window_found);
    if (std::abs(r.value) < r.error) ++covered;
  }
  const double p = std::erf(1.0 / std::sqrt(2.0));
  const double binomial_sigma = std::sqrt(p * (1.0 - p) / series);
  EXPECT_NEAR(static_cast<double>(covered) / series, p, 3.0 * binomial_sigma);
}

TEST(GammaMethod, MeanWeightsEveryMeasurementEqually) {
  const GammaResult r = gamma_method({{1.0, 2.0, 3.0, 4.0}, {10.0, 20.0}});
  EXPECT_DOUBLE_EQ(r.value, 40.0 / 6.0);
}

TEST(GammaMethod, ConstantSeriesHasNoError) {
  const GammaResult r = gamma_method({std::vector<double>(1000, 0.1), std::vector<double>(500, 0.1)});
  EXPECT_EQ(r.value, 0.1);
  EXPECT_EQ(r.error, 0.0);
  EXPECT_EQ(r.error_of_error, 0.0);
  EXPECT_EQ(r.tau_int, 0.5);
  EXPECT_EQ(r.tau_int_error, 0.0);
  EXPECT_EQ(r.window, 0);
  EXPECT_TRUE(r.window_found);
}

TEST(GammaMethod, SingleSampleHasErrorZeroAndNoWindow) {
  const GammaResult r = gamma_method({{3.5}});
  EXPECT_EQ(r.value, 3.5);
  EXPECT_EQ(r.error, 0.0);
  EXPECT_EQ(r.tau_int, 0.5);
  EXPECT_EQ(r.window, 0);
  EXPECT_FALSE(r.window_found);
}

TEST(GammaMethod, ChainsShorterThanTheirCorrelationGetTheLargestWindow) {
  // Each replica sits at one random level: perfectly correlated within W_max = 5.
  std::mt19937_64 gen(11);
  std::normal_distribution<double> level(0.0, 1.0);
  Replicas replicas;
  for (int r = 0; r < 1000; ++r) replicas.emplace_back(10, level(gen));
  const GammaResult result = gamma_method(replicas);
  EXPECT_FALSE(result.window_found);
  EXPECT_EQ(result.window, 5);
  EXPECT_GT(result.tau_int, 5.0);
}

TEST(GammaMethod, RejectsBadInput) {
  EXPECT_THROW(gamma_method({}), std::invalid_argument);
  EXPECT_THROW(gamma_method({{1.0, 2.0}, {}}), std::invalid_argument);
  EXPECT_THROW(gamma_method({{1.0, std::numeric_limits<double>::quiet_NaN()}}), std::invalid_argument);
  EXPECT_THROW(gamma_method({{1.0, 2.0}}, 0.0), std::invalid_argument);
  // Perfect alternation: Gamma(1) = -Gamma(0) ends the window at W = 1 with C_F < 0.
  std::vector<double> alternating(1000);
  for (std::size_t i = 0; i < alternating.size(); ++i) alternating[i] = (i % 2 == 0) ? 1.0 : -1.0;
  EXPECT_THROW(gamma_method({alternating}), std::domain_error);
}

TEST(GammaMethodDerived, IdentityReproducesThePrimary) {
  std::mt19937_64 gen(5);
  Replicas data = {ar1(0.5, 30000, gen, 3.0), ar1(0.5, 50000, gen, 3.0)};
  const GammaResult direct = gamma_method(data);
  const GammaResult derived = gamma_method_derived({data}, [](const std::vector<double>& m) { return m[0]; });
  EXPECT_DOUBLE_EQ(derived.value, direct.value);
  EXPECT_DOUBLE_EQ(derived.error, direct.error);
  EXPECT_DOUBLE_EQ(derived.error_of_error, direct.error_of_error);
  EXPECT_DOUBLE_EQ(derived.tau_int, direct.tau_int);
  EXPECT_DOUBLE_EQ(derived.tau_int_error, direct.tau_int_error);
  EXPECT_EQ(derived.window, direct.window);
  EXPECT_EQ(derived.window_found, direct.window_found);
}

TEST(GammaMethodDerived, SquareFollowsLinearErrorPropagation) {
  std::mt19937_64 gen(6);
  const Replicas data = {ar1(0.6, 100000, gen, 2.0)};
  const GammaResult a = gamma_method(data);
  const GammaResult a2 = gamma_method_derived({data}, [](const std::vector<double>& m) { return m[0] * m[0]; });
  EXPECT_DOUBLE_EQ(a2.value, a.value * a.value);
  const double propagated = 2.0 * std::abs(a.value) * a.error;
  EXPECT_NEAR(a2.error, propagated, 1e-6 * propagated);
  EXPECT_NEAR(a2.tau_int, a.tau_int, 1e-6 * a.tau_int);
}

TEST(GammaMethodDerived, VarianceAgreesWithJackknife) {
  std::mt19937_64 gen(8);
  const std::vector<double> x = iid_normal(100000, 0.5, gen);
  std::vector<double> x2(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) x2[i] = x[i] * x[i];
  const auto variance = [](const std::vector<double>& m) { return m[1] - m[0] * m[0]; };
  const GammaResult g = gamma_method_derived({Replicas{x}, Replicas{x2}}, variance);
  const JackknifeResult j = jackknife({x, x2}, variance, 1);
  EXPECT_NEAR(g.value, j.value, 1e-12);
  EXPECT_NEAR(g.error, j.error, 0.1 * j.error);
  // Var of the sample variance of unit Gaussians is 2 / N.
  EXPECT_NEAR(g.error, std::sqrt(2.0 / x.size()), 0.1 * std::sqrt(2.0 / x.size()));
}

TEST(GammaMethodDerived, RejectsMismatchedPrimariesAndUndefinedF) {
  const auto sum = [](const std::vector<double>& m) { return m[0] + m[1]; };
  EXPECT_THROW(gamma_method_derived({}, sum), std::invalid_argument);
  EXPECT_THROW(gamma_method_derived({Replicas{{1.0, 2.0, 3.0}}, Replicas{{1.0, 2.0}}}, sum), std::invalid_argument);
  const auto log_of = [](const std::vector<double>& m) { return std::log(m[0]); };
  EXPECT_THROW(gamma_method_derived({Replicas{{-1.0, -2.0, -3.0}}}, log_of), std::domain_error);
}

TEST(Jackknife, MeanOfIidDataIsTheStandardError) {
  std::mt19937_64 gen(9);
  const std::vector<double> x = iid_normal(10001, 0.3, gen);
  double mean = 0.0;
  for (const double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  double sum_sq = 0.0;
  for (const double v : x) sum_sq += (v - mean) * (v - mean);
  const double standard_error = std::sqrt(sum_sq / (x.size() - 1.0) / x.size());
  const JackknifeResult j = jackknife(
      {x}, [](const std::vector<double>& m) { return m[0]; }, 1);
  EXPECT_NEAR(j.value, mean, 1e-12);
  EXPECT_NEAR(j.error, standard_error, 1e-10 * standard_error);
}

TEST(Jackknife, BinsLeaveOutTheTail) {
  // Bins {1, 2} and {3, 4}; 5 is left out. Leave-one-out means 3.5 and 1.5: error sqrt(1/2 * 2) = 1.
  const JackknifeResult j = jackknife(
      {{1.0, 2.0, 3.0, 4.0, 5.0}}, [](const std::vector<double>& m) { return m[0]; }, 2);
  EXPECT_DOUBLE_EQ(j.value, 2.5);
  EXPECT_DOUBLE_EQ(j.error, 1.0);
}

TEST(Jackknife, RejectsBadInput) {
  const auto first = [](const std::vector<double>& m) { return m[0]; };
  EXPECT_THROW(jackknife({{1.0, 2.0, 3.0, 4.0, 5.0}}, first, 3), std::invalid_argument);
  EXPECT_THROW(jackknife({{1.0, 2.0, 3.0}}, first, 0), std::invalid_argument);
  EXPECT_THROW(jackknife({{1.0, 2.0, 3.0}, {1.0, 2.0}}, first, 1), std::invalid_argument);
  EXPECT_THROW(jackknife({}, first, 1), std::invalid_argument);
}

TEST(Weights, LogSumExpMatchesADirectSum) {
  const std::vector<double> x = {-1.5, 0.0, 0.3, 2.0, -7.0};
  double direct = 0.0;
  for (const double v : x) direct += std::exp(v);
  EXPECT_NEAR(log_sum_exp(x), std::log(direct), 1e-14);
  EXPECT_EQ(log_sum_exp({}), -std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(log_sum_exp({1e4, 1e4}), 1e4 + std::log(2.0));
  EXPECT_DOUBLE_EQ(log_sum_exp({-1e4, -1e4}), -1e4 + std::log(2.0));
  EXPECT_DOUBLE_EQ(log_sum_exp({0.0, -std::numeric_limits<double>::infinity()}), 0.0);
}

TEST(Weights, EffectiveSampleSizeLimits) {
  EXPECT_NEAR(effective_sample_size(std::vector<double>(1000, 123.4)), 1.0, 1e-12);
  std::vector<double> dominated(50, -1000.0);
  dominated[17] = 0.0;
  EXPECT_NEAR(effective_sample_size(dominated), 1.0 / 50.0, 1e-14);
  EXPECT_THROW(effective_sample_size({}), std::invalid_argument);
  EXPECT_THROW(effective_sample_size({0.0, std::numeric_limits<double>::quiet_NaN()}), std::invalid_argument);
}

TEST(Weights, EffectiveSampleSizeOfTwoValuedWeights) {
  // k weights a and n - k weights b: ESS = (k a + (n-k) b)^2 / (n (k a^2 + (n-k) b^2)).
  const int n = 10;
  const int k = 3;
  const double a = std::exp(0.7);
  const double b = 1.0;
  const double exact = std::pow(k * a + (n - k) * b, 2) / (n * (k * a * a + (n - k) * b * b));
  std::vector<double> log_weights(n, 0.0);
  for (int i = 0; i < k; ++i) log_weights[i] = 0.7;
  EXPECT_NEAR(effective_sample_size(log_weights), exact, 1e-14);
  // The same weights scaled by exp(1e4) (as flow log weights easily are) must not overflow.
  for (double& lw : log_weights) lw += 1e4;
  EXPECT_NEAR(effective_sample_size(log_weights), exact, 1e-12);
}

TEST(Weights, ReweightedMean) {
  EXPECT_DOUBLE_EQ(reweighted_mean({1.0, 2.0}, {0.0, std::log(3.0)}), 1.75);
  // 1e4 + log 3 is rounded to the spacing of doubles near 1e4, ~2e-12.
  EXPECT_NEAR(reweighted_mean({1.0, 2.0}, {1e4, 1e4 + std::log(3.0)}), 1.75, 1e-10);
  EXPECT_DOUBLE_EQ(reweighted_mean({1.0, 2.0, 3.0}, {-5.0, -5.0, -5.0}), 2.0);
  EXPECT_THROW(reweighted_mean({1.0, 2.0}, {0.0}), std::invalid_argument);
  const double minus_inf = -std::numeric_limits<double>::infinity();
  EXPECT_THROW(reweighted_mean({1.0, 2.0}, {minus_inf, minus_inf}), std::invalid_argument);
}
