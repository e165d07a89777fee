// Reweighting of flow proposals in the ensemble analysis against exact results: raw "proposals" drawn from a Gaussian q
// with log weights of a Gaussian target p give the target's moments within their errors and the exact effective sample
// size 1 / E_q[(p/q)^2]; with equal weights the reweighted estimates are the plain ones (one code path); the
// side-by-side comparison names the quantities both ensembles have; the JSON results escape strings and write NaN
// as null.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "phi4flow/analysis/ensemble_analysis.hpp"
#include "phi4flow/analysis/report.hpp"
#include "phi4flow/physics/observables.hpp"
#include "phi4flow/rng/philox.hpp"

using namespace phi4flow;

namespace {

/// Shape of the slice correlator of the synthetic ensemble: gc(t) = x^2 profile[t], cosh-like, so that the pole mass
/// is defined.
constexpr double profile[4] = {1.0, 0.5, 0.35, 0.5};

/// A flow-mh-like ensemble on a 4 x 4 lattice whose proposals have M = x ~ N(0, sq^2) and log w = log p(x) -
/// log q(x) + const for p = N(0, 1) (or, with equal_weights, log w = const); the chain series are the proposals
/// themselves.
io::Ensemble gaussian_proposals(double sq, int chains, long records, bool equal_weights = false) {
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
      ens.scalars["proposal_log_w"](c, i) =
          equal_weights ? 300.0 : -0.5 * x * x + 0.5 * x * x / (sq * sq) + 300.0;  // + a huge constant
    }
  return ens;
}

}  // namespace

TEST(Reweighting, ReweightedProposalsGiveTheTargetMoments) {
  const double sq = 1.5;
  const analysis::EnsembleAnalysis r = analysis::analyze(gaussian_proposals(sq, 4, 10000));
  ASSERT_TRUE(r.proposals.has_value());
  EXPECT_EQ(r.proposals->n, 40000);
  // E_q[(p/q)^2] = sq / sqrt(2 pi) * sqrt(pi / a), a = 1 - 1 / (2 sq^2), for p = N(0, 1).
  const double a = 1.0 - 1.0 / (2.0 * sq * sq);
  const double exact_ess = 1.0 / (sq / std::sqrt(2.0 * M_PI) * std::sqrt(M_PI / a));
  EXPECT_NEAR(r.proposals->ess, exact_ess, 0.01);
  const analysis::Estimates& rw = r.proposals->reweighted;
  ASSERT_EQ(rw.observables.size(), field_observable_names().size());
  for (const auto& [name, e] : rw.observables) {
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
  EXPECT_NEAR(rw.chi2.value, 16.0, 4.0 * rw.chi2.error);
  EXPECT_NEAR(r.chain.chi2.value, 16.0 * sq * sq, 4.0 * r.chain.chi2.error);
  ASSERT_EQ(rw.Gc.size(), 4u);
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(rw.Gc[t].value, profile[t], 4.0 * rw.Gc[t].error);
  EXPECT_TRUE(std::isfinite(rw.pole_mass.value) && rw.pole_mass.error > 0.0);
  EXPECT_TRUE(rw.G_orbit.empty());  // proposals store no fields
}

TEST(Reweighting, EqualWeightsGiveThePlainEstimates) {
  // The chain's series are the proposals themselves: with equal weights, reweighting must change nothing.
  const analysis::EnsembleAnalysis r = analysis::analyze(gaussian_proposals(1.5, 3, 3000, true));
  ASSERT_TRUE(r.proposals.has_value());
  EXPECT_DOUBLE_EQ(r.proposals->ess, 1.0);
  const analysis::Estimates& plain = r.chain;
  const analysis::Estimates& rw = r.proposals->reweighted;
  const auto expect_same = [](const analysis::Estimate& x, const analysis::Estimate& y, const std::string& what) {
    EXPECT_DOUBLE_EQ(x.value, y.value) << what;
    EXPECT_DOUBLE_EQ(x.error, y.error) << what;
    EXPECT_DOUBLE_EQ(x.tau_int, y.tau_int) << what;
    EXPECT_DOUBLE_EQ(x.tau_int_error, y.tau_int_error) << what;
  };
  const std::map<std::string, analysis::Estimate> by_name(plain.observables.begin(), plain.observables.end());
  ASSERT_EQ(rw.observables.size(), field_observable_names().size());
  for (const auto& [name, e] : rw.observables) {
    ASSERT_EQ(by_name.count(name), 1u) << name;
    expect_same(by_name.at(name), e, name);
    EXPECT_GT(e.error, 0.0) << name;
  }
  expect_same(plain.chi2, rw.chi2, "chi2");
  EXPECT_DOUBLE_EQ(plain.chi2_jackknife_error, rw.chi2_jackknife_error);
  ASSERT_TRUE(std::isfinite(plain.pole_mass.value));
  expect_same(plain.pole_mass, rw.pole_mass, "m_p");
  EXPECT_DOUBLE_EQ(plain.pole_mass_jackknife_error, rw.pole_mass_jackknife_error);
  ASSERT_EQ(plain.Gc.size(), 4u);
  ASSERT_EQ(rw.Gc.size(), 4u);
  for (int t = 0; t < 4; ++t) expect_same(plain.Gc[t], rw.Gc[t], "Gc(" + std::to_string(t) + ")");
}

TEST(Reweighting, ComparisonListsSharedQuantities) {
  const analysis::EnsembleAnalysis a = analysis::analyze(gaussian_proposals(1.5, 2, 2000));
  const analysis::EnsembleAnalysis b = analysis::analyze(gaussian_proposals(1.2, 2, 2000));
  const std::string table = analysis::format_comparison(a, "a.h5", b, "b.h5");
  EXPECT_NE(table.find("chi2 (reweighted)"), std::string::npos) << table;
  EXPECT_NE(table.find("m_p L"), std::string::npos) << table;
  EXPECT_NE(table.find("(A-B)/err"), std::string::npos) << table;
}

TEST(Reweighting, JsonEscapesStringsAndWritesNanAsNull) {
  analysis::EnsembleAnalysis r = analysis::analyze(gaussian_proposals(1.5, 2, 500));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  r.algorithm = "flow \"mh\"\n\\";
  r.chain.pole_mass = analysis::Estimate{nan, nan, nan, nan};
  r.warnings = {"a \"quoted\" warning\twith a tab"};
  const auto json = nlohmann::json::parse(analysis::to_json(r));
  EXPECT_EQ(json.at("algorithm"), r.algorithm);
  ASSERT_EQ(json.at("warnings").size(), 1u);
  EXPECT_EQ(json.at("warnings")[0], r.warnings[0]);
  EXPECT_TRUE(json.at("m_p").at("value").is_null());
  EXPECT_TRUE(json.at("m_p").at("error").is_null());
  EXPECT_EQ(json.at("L"), 4);
  EXPECT_DOUBLE_EQ(json.at("chi2").at("value").get<double>(), r.chain.chi2.value);
  EXPECT_DOUBLE_EQ(json.at("proposals").at("chi2").at("value").get<double>(), r.proposals->reweighted.chi2.value);
  ASSERT_EQ(json.at("proposals").at("Gc").size(), 4u);
  EXPECT_EQ(json.at("proposals").at("n"), r.proposals->n);
}
