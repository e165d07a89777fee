// Reweighting of flow proposals in the ensemble analysis against exact results: raw "proposals" drawn from a Gaussian q
// with log weights of a Gaussian target p give the target's moments within their errors and the exact effective sample
// size 1 / E_q[(p/q)^2]; the side-by-side comparison names the quantities both ensembles have.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "phi4flow/analysis/ensemble_analysis.hpp"
#include "phi4flow/rng/philox.hpp"
#include "phi4flow/physics/observables.hpp"

using namespace phi4flow;

namespace {

/// Shape of the slice correlator of the synthetic ensemble: gc(t) = x^2 profile[t], cosh-like, so that the pole mass
/// is defined.
constexpr double profile[4] = {1.0, 0.5, 0.35, 0.5};

/// A flow-mh-like ensemble on a 4 x 4 lattice whose proposals have M = x ~ N(0, sq^2) and log w = log p(x) -
/// log q(x) + const for p = N(0, 1); the chain series are the proposals themselves (their analysis is not tested).
io::Ensemble gaussian_proposals(double sq, int chains, long records) {
  io::Ensemble ens;
  ens.L = 4;
  ens.n_chains = chains;
  ens.n_records = records;
  ens.action = {{"m2", -4.0}, {"lam", 1.0}};
  ens.algorithm = {{"name", std::string("flow-mh")}};
  ens.step = io::HostSteps("step", chains, records);
  ens.gc = io::HostReals3("gc", chains, records, 4);
  ens.vectors["proposal_Gc"] = io::HostReals3("proposal_gc", chains, records, 4);
  for (const auto& name : field_observable_names()) {
    ens.scalars[name] = io::HostReals2(name, chains, records);
    ens.scalars["proposal_" + name] = io::HostReals2(name, chains, records);
  }
  ens.scalars["proposal_log_w"] = io::HostReals2("log_w", chains, records);
  const rng::Philox gen(7, rng::Purpose::test);
  for (int c = 0; c < chains; ++c)
    for (long i = 0; i < records; ++i) {
      const double x = sq * gen.normal(static_cast<std::uint32_t>(c), static_cast<std::uint64_t>(i), 0);
      ens.step(c, i) = i;
      for (const std::string prefix : {"", "proposal_"}) {
        ens.scalars[prefix + "M"](c, i) = x;
        ens.scalars[prefix + "abs_M"](c, i) = std::abs(x);
        ens.scalars[prefix + "M2"](c, i) = x * x;
        ens.scalars[prefix + "S_per_site"](c, i) = x * x;
      }
      // Gc(t) = profile[t] <x^2> - <x>^2: profile[t] under the target.
      for (int t = 0; t < 4; ++t) ens.gc(c, i, t) = ens.vectors["proposal_Gc"](c, i, t) = x * x * profile[t];
      ens.scalars["proposal_log_w"](c, i) = -0.5 * x * x + 0.5 * x * x / (sq * sq) + 300.0;  // + a huge constant
    }
  return ens;
}

}  // namespace

TEST(Reweighting, ReweightedProposalsGiveTheTargetMoments) {
  const double sq = 1.5;
  const analysis::EnsembleAnalysis r = analysis::analyze(gaussian_proposals(sq, 4, 10000));
  ASSERT_TRUE(r.has_proposals);
  EXPECT_EQ(r.n_proposals, 40000);
  // E_q[(p/q)^2] = sq / sqrt(2 pi) * sqrt(pi / a), a = 1 - 1 / (2 sq^2), for p = N(0, 1).
  const double a = 1.0 - 1.0 / (2.0 * sq * sq);
  const double exact_ess = 1.0 / (sq / std::sqrt(2.0 * M_PI) * std::sqrt(M_PI / a));
  EXPECT_NEAR(r.proposal_ess, exact_ess, 0.01);
  for (const auto& [name, e] : r.reweighted) {
    if (name == "M2") {
      EXPECT_NEAR(e.value, 1.0, 4.0 * e.error);
    } else if (name == "M") {
      EXPECT_NEAR(e.value, 0.0, 4.0 * e.error);
    } else if (name == "abs_M") {
      EXPECT_NEAR(e.value, std::sqrt(2.0 / M_PI), 4.0 * e.error);
    }
    EXPECT_GT(e.error, 0.0);
  }
  // chi2 = N (<M^2> - <M>^2) = 16 for the target; the unweighted chain average is 16 sq^2 = 36.
  EXPECT_NEAR(r.reweighted_chi2.value, 16.0, 4.0 * r.reweighted_chi2.error);
  EXPECT_NEAR(r.chi2.value, 16.0 * sq * sq, 4.0 * r.chi2.error);
  ASSERT_EQ(r.reweighted_Gc.size(), 4u);
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(r.reweighted_Gc[t].value, profile[t], 4.0 * r.reweighted_Gc[t].error);
  EXPECT_TRUE(std::isfinite(r.reweighted_pole_mass.value) && r.reweighted_pole_mass.error > 0.0);
}

TEST(Reweighting, ComparisonListsSharedQuantities) {
  const analysis::EnsembleAnalysis a = analysis::analyze(gaussian_proposals(1.5, 2, 2000));
  const analysis::EnsembleAnalysis b = analysis::analyze(gaussian_proposals(1.2, 2, 2000));
  const std::string table = analysis::format_comparison(a, "a.h5", b, "b.h5");
  EXPECT_NE(table.find("chi2 (reweighted)"), std::string::npos) << table;
  EXPECT_NE(table.find("m_p L"), std::string::npos) << table;
  EXPECT_NE(table.find("(A-B)/err"), std::string::npos) << table;
}
