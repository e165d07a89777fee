// Independent Metropolis-Hastings (mcmc/flow_mh.hpp) against exact results: with Gaussian proposal q and target p,
// the accept rule's chain has the exact stationary acceptance int p(x) q(y) min(1, w(y)/w(x)) (numerical
// quadrature) and p's moments; the production sampler, with a Gaussian "flow" on the free field, reproduces the
// exact susceptibility; its chains do not depend on the proposal batch or on how chains are split over samplers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "phi4flow/error.hpp"
#include "phi4flow/mcmc/flow_mh.hpp"
#include "phi4flow/physics/free_field.hpp"
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
  stats::Replicas accepted(1), x2(1), x4(1);
  double x = 0.0, log_w = -std::numeric_limits<double>::infinity();  // no state: the first proposal is taken
  for (long i = 0; i < n; ++i) {
    const double y = sq * gen.normal(0, static_cast<std::uint64_t>(i), 0);
    const double log_w_y = log_normal(y, sp) - log_normal(y, sq) + 17.0;  // the constant must not matter
    const bool accept = mh_accept(log_w, log_w_y, gen.uniform(1, static_cast<std::uint64_t>(i), 0));
    if (accept) {
      x = y;
      log_w = log_w_y;
    }
    if (i == 0) continue;  // step 0 accepts whatever comes: not part of the stationary rate
    accepted[0].push_back(accept ? 1.0 : 0.0);
    x2[0].push_back(x * x);
    x4[0].push_back(x * x * x * x);
  }
  return {stats::gamma_method(accepted), stats::gamma_method(x2), stats::gamma_method(x4)};
}

}  // namespace

// Not in the unnamed namespace: nvcc rejects device lambdas in functions with internal linkage.
namespace phi4flow::test {

/// A "flow" that is a Gaussian of width sigma at every site: phi = sigma z, log q exact.
class GaussianModel final : public flow::Model {
 public:
  explicit GaussianModel(double sigma) : sigma_(sigma), parameters_("phi4flow::test::GaussianModel", 1) {}
  std::string kind() const override { return "gaussian"; }
  flow::ParameterView parameters() override { return parameters_; }
  void sample(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q) override {
    const double sigma = sigma_;
    const int n = static_cast<int>(z.extent(1));
    const double norm = n * (std::log(sigma) + 0.5 * std::log(2.0 * M_PI));
    Kokkos::parallel_for(
        "phi4flow::test::GaussianModel::sample", Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(z.extent(0))),
        KOKKOS_LAMBDA(const int b) {
          double z2 = 0.0;
          for (int s = 0; s < n; ++s) {
            phi(b, s) = sigma * z(b, s);
            z2 += z(b, s) * z(b, s);
          }
          log_q(b) = -0.5 * z2 - norm;
        });
  }
  void log_density(const ConstFieldBatch&, const BatchScalars&) override { FAIL() << "not used"; }
  std::vector<std::pair<std::string, double>> hyperparameters() const override { return {{"sigma", sigma_}}; }

 protected:
  double do_loss_and_gradient(const ConstFieldBatch&, const Phi4Action&, const flow::ParameterView&,
                              flow::GradientEstimator) override {
    ADD_FAILURE() << "not used";
    return 0.0;
  }

 private:
  double sigma_;
  flow::ParameterView parameters_;
};

}  // namespace phi4flow::test

using phi4flow::test::GaussianModel;

TEST(FlowMh, AcceptRuleIsExactInLogSpace) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(mh_accept(-inf, -1e300, 0.999));    // a chain without state takes its first proposal
  EXPECT_TRUE(mh_accept(1.0, 1.0, 0.999999));     // equal weights: always
  EXPECT_TRUE(mh_accept(-2000.0, -1000.0, 0.5));  // weights far beyond double range: no overflow
  EXPECT_TRUE(mh_accept(0.0, std::log(0.3), 0.299));
  EXPECT_FALSE(mh_accept(0.0, std::log(0.3), 0.301));
  EXPECT_FALSE(mh_accept(0.0, std::nan(""), 1e-9));  // a broken proposal never enters the chain

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

// The production sampler on the free field (lam = 0, L = 3): its chains must reproduce chi2 = 1/(2 m2) within 4
// sigma, and exclude a 10% different mass.
TEST(FlowMh, SamplerReproducesTheFreeFieldSusceptibility) {
  const int L = 3, chains = 8, steps = 100000;
  const double m2 = 2.0;
  const Lattice lattice(L);
  const Phi4Action action(lattice, Couplings{m2, 0.0});
  GaussianModel model(0.55);  // wider than the target's widest mode (variance 1/4): bounded weights
  FlowMhSampler sampler(model, action, 99, 0, chains, 64);
  const ObservableMeter meter(lattice, chains);
  stats::Replicas M(chains), M2(chains);
  for (int step = 0; step < steps; ++step) {
    sampler.advance(step, steps - step);
    if (step < 100) continue;
    const auto obs = meter.measure(sampler.fields(), sampler.actions());
    for (int c = 0; c < chains; ++c) {
      M[c].push_back(obs.scalars(0, c));
      M2[c].push_back(obs.scalars(2, c));
    }
  }
  const int n = lattice.volume();
  const auto chi2 = stats::gamma_method_derived({M, M2}, [n](const std::vector<double>& a) { return n * (a[1] - a[0] * a[0]); });
  const AcceptanceCounts counts = sampler.acceptance();
  std::printf("free field L = 3, m2 = 2: chi2 %.4f +- %.4f (exact %.4f), acceptance %.3f\n", chi2.value, chi2.error,
              free_field::susceptibility(m2), static_cast<double>(counts.accepted) / counts.proposed);
  EXPECT_EQ(counts.proposed, static_cast<long long>(chains) * steps);
  EXPECT_GT(counts.accepted, counts.proposed / 20);
  EXPECT_LT(std::abs(chi2.value - free_field::susceptibility(m2)), 4 * chi2.error);
  EXPECT_GT(std::abs(chi2.value - free_field::susceptibility(1.1 * m2)), 4 * chi2.error);
}

// A chain is a function of (seed, global chain): chains 2 and 3 of a 4-chain sampler with batch 5 are those of a
// 2-chain sampler holding them with batch 3, bit for bit.
TEST(FlowMh, ChainsDoNotDependOnBatchOrSplit) {
  const Lattice lattice(4);
  const Phi4Action action(lattice, Couplings{-4.0, 6.975});
  GaussianModel model(0.4);
  FlowMhSampler all(model, action, 7, 0, 4, 5), upper(model, action, 7, 2, 2, 3);
  for (int step = 0; step < 30; ++step) {
    all.advance(step, 30 - step);
    upper.advance(step, 30 - step);
  }
  const auto a = Kokkos::create_mirror_view_and_copy(HostSpace(), all.fields());
  const auto u = Kokkos::create_mirror_view_and_copy(HostSpace(), upper.fields());
  for (int c = 0; c < 2; ++c)
    for (int s = 0; s < lattice.volume(); ++s) ASSERT_EQ(a(c + 2, s), u(c, s)) << "chain " << c + 2 << ", site " << s;
  EXPECT_GT(all.acceptance().accepted, 4);  // the chains moved
}
