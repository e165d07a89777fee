// Independent Metropolis-Hastings (mcmc/flow_mh.hpp) against exact results: with Gaussian proposal q and target p,
// the chain's acceptance rate equals the exact stationary rate int p(x) q(y) min(1, w(y)/w(x)) (numerical
// quadrature) and its moments equal p's, within a few Gamma-method errors; and the accept rule itself.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "phi4flow/error.hpp"
#include "phi4flow/mcmc/flow_mh.hpp"
#include "phi4flow/rng/philox.hpp"
#include "phi4flow/stats/gamma.hpp"

using namespace phi4flow;

namespace {

/// log of a centred normal density with standard deviation sigma.
double log_normal(double x, double sigma) {
  return -0.5 * x * x / (sigma * sigma) - std::log(sigma) - 0.5 * std::log(2.0 * M_PI);
}

/// Exact stationary acceptance rate of independence MH, target N(0, sp^2), proposal N(0, sq^2), by the midpoint
/// rule on [-12 max(sp, sq), 12 max(sp, sq)]^2 (the integrand is smooth and decays like a Gaussian).
double exact_acceptance(double sp, double sq) {
  const int n = 3000;
  const double half = 12.0 * std::max(sp, sq), h = 2.0 * half / n;
  std::vector<double> x(n), log_p(n), log_q(n);
  for (int i = 0; i < n; ++i) {
    x[i] = -half + (i + 0.5) * h;
    log_p[i] = log_normal(x[i], sp);
    log_q[i] = log_normal(x[i], sq);
  }
  double sum = 0.0;
  for (int i = 0; i < n; ++i)      // current state x ~ p
    for (int j = 0; j < n; ++j) {  // proposal y ~ q
      const double log_ratio = (log_p[j] - log_q[j]) - (log_p[i] - log_q[i]);
      sum += std::exp(log_p[i] + log_q[j] + std::min(0.0, log_ratio));
    }
  return sum * h * h;
}

struct ChainMoments {
  stats::GammaResult acceptance, x2, x4;
};

/// A chain of n steps with proposals N(0, sq^2) for the target N(0, sp^2); log w known only up to a constant.
ChainMoments run_gaussian_chain(double sp, double sq, long n) {
  const rng::Philox gen(12345, rng::Purpose::test);
  std::vector<double> proposal(n), log_w(n), u(n);
  for (long i = 0; i < n; ++i) {
    proposal[i] = sq * gen.normal(0, static_cast<std::uint64_t>(i), 0);
    log_w[i] = log_normal(proposal[i], sp) - log_normal(proposal[i], sq) + 17.0;  // the constant must not matter
    u[i] = gen.uniform(1, static_cast<std::uint64_t>(i), 0);
  }
  MhChain chain;
  const std::vector<long> held = run_chain(chain, log_w, u);
  stats::Replicas accepted(1), x2(1), x4(1);
  for (long i = 1; i < n; ++i) {  // step 0 accepts whatever comes: not part of the stationary rate
    accepted[0].push_back(held[i] == i ? 1.0 : 0.0);
    const double x = proposal[held[i]];
    x2[0].push_back(x * x);
    x4[0].push_back(x * x * x * x);
  }
  return {stats::gamma_method(accepted), stats::gamma_method(x2), stats::gamma_method(x4)};
}

}  // namespace

TEST(FlowMh, AcceptRuleIsExactInLogSpace) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(mh_accept(-inf, -1e300, 0.999));    // a chain without state takes its first proposal
  EXPECT_TRUE(mh_accept(1.0, 1.0, 0.999999));     // equal weights: always
  EXPECT_TRUE(mh_accept(-2000.0, -1000.0, 0.5));  // weights far beyond double range: no overflow
  EXPECT_TRUE(mh_accept(0.0, std::log(0.3), 0.299));
  EXPECT_FALSE(mh_accept(0.0, std::log(0.3), 0.301));
  EXPECT_FALSE(mh_accept(0.0, std::nan(""), 1e-9));  // a broken proposal never enters the chain

  MhChain chain;
  EXPECT_TRUE(chain.step(5.0, 0.9));
  EXPECT_FALSE(chain.step(4.0, 0.9));  // exp(-1) = 0.37 < 0.9
  EXPECT_EQ(chain.log_w(), 5.0);
  EXPECT_TRUE(chain.step(4.0, 0.3));
  EXPECT_EQ(chain.log_w(), 4.0);
  EXPECT_EQ(MhChain(4.0).log_w(), 4.0);
}

TEST(FlowMh, GaussianTargetIsInvariant) {
  // Proposal wider than the target (bounded weights, high acceptance) and narrower (unbounded weights, sticky).
  for (const double sq : {1.5, 0.8}) {
    const double sp = 1.0;
    const ChainMoments m = run_gaussian_chain(sp, sq, 400000);
    const double acceptance = exact_acceptance(sp, sq);
    SCOPED_TRACE("sigma_q = " + std::to_string(sq) + ", exact acceptance " + std::to_string(acceptance));
    std::printf(
        "sigma_p 1, sigma_q %.2f: acceptance %.4f +- %.4f (exact %.4f), <x^2> %.4f +- %.4f (exact 1), "
        "<x^4> %.3f +- %.3f (exact 3)\n",
        sq, m.acceptance.value, m.acceptance.error, acceptance, m.x2.value, m.x2.error, m.x4.value, m.x4.error);
    EXPECT_NEAR(m.acceptance.value, acceptance, 4.0 * m.acceptance.error);
    EXPECT_NEAR(m.x2.value, sp * sp, 4.0 * m.x2.error);
    EXPECT_NEAR(m.x4.value, 3.0 * std::pow(sp, 4), 4.0 * m.x4.error);
    EXPECT_LT(m.acceptance.error, 0.005);  // the test has teeth: errors well below the effects of a wrong rule
  }
}

TEST(FlowMh, ExactAcceptanceOfIdenticalDistributionsIsOne) {
  EXPECT_NEAR(exact_acceptance(1.0, 1.0), 1.0, 1e-9);
}
