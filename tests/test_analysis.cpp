// The analysis pipeline on a free-field HMC ensemble: chi2, Gc(t), G(x) per D4 orbit and the pole mass against
// the exact propagator, within 4 sigma of their Gamma-method errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "phi4flow/analysis/ensemble_analysis.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/mcmc/hmc.hpp"
#include "phi4flow/physics/free_field.hpp"
#include "phi4flow/run/ensemble_run.hpp"

using namespace phi4flow;

namespace {

/// A free-field HMC ensemble made the way phi4flow hmc makes one (the HMC sampler, the ensemble run's device
/// records, the file) and read back the way phi4flow analyze reads it.
io::Ensemble free_field_ensemble(int L, double m2, int chains, int records) {
  const Lattice lattice(L);
  const Phi4Action action(lattice, Couplings{m2, 0.0});
  HmcSampler hmc(action, HmcParams{1.0, 8}, 77, 0, chains);
  io::Settings settings;
  settings.lattice.L = L;
  settings.action.m2 = m2;
  settings.action.lam = 0.0;
  settings.run.seed = 77;
  const Communicator self = Communicator::self();
  io::EnsembleLayout layout = run::ensemble_layout(self, io::Input{}, settings, chains, "global chain, trajectory");
  layout.algorithm = {{"name", std::string("hmc")}};
  run::EnsembleRunSettings run;
  run.command = "hmc";
  run.step_name = "trajectory";
  run.updates_name = "trajectories";
  run.output = testing::TempDir() + "phi4flow_test_analysis_" + std::to_string(L) + ".h5";
  run.overwrite = true;
  run.thermalisation = 50;
  run.steps = records;
  run.flush_every = 500;
  run.progress_interval = 1e9;
  EXPECT_EQ(run::run_ensemble(self, hmc, lattice, layout, run), 0);
  io::Ensemble ensemble = io::read_ensemble(run.output);
  std::remove(run.output.c_str());
  EXPECT_EQ(ensemble.n_records, records);
  return ensemble;
}

}  // namespace

TEST(Analysis, FreeFieldEnsembleReproducesExactCorrelators) {
  const int L = 6;
  const double m2 = 0.6;
  const Lattice lattice(L);
  const analysis::EnsembleAnalysis r = analysis::analyze(free_field_ensemble(L, m2, 8, 1500), 0);

  EXPECT_LT(std::abs(r.chain.chi2.value - free_field::susceptibility(m2)), 4 * r.chain.chi2.error);
  EXPECT_NEAR(r.chain.chi2_jackknife_error, r.chain.chi2.error, 0.5 * r.chain.chi2.error);

  const auto exact_gc = free_field::slice_correlator(lattice, m2);
  ASSERT_EQ(r.chain.Gc.size(), static_cast<std::size_t>(L));
  for (int t = 0; t < L; ++t)
    EXPECT_LT(std::abs(r.chain.Gc[t].value - exact_gc[t]), 4 * r.chain.Gc[t].error) << "t = " << t;

  // G(x) per D4 orbit: every member of an orbit has the same exact value.
  const auto exact_G = free_field::propagator(lattice, m2);
  ASSERT_EQ(r.chain.G_orbit.size(), static_cast<std::size_t>(lattice.orbit_count()));
  for (int s = 0; s < lattice.volume(); ++s) {
    const auto& est = r.chain.G_orbit[r.G_orbit_of[s]];
    EXPECT_LT(std::abs(est.value - exact_G[s]), 4 * est.error) << "site " << s;
  }

  // The pole-mass estimator applied to the exact Gc(t).
  double exact_mass = 0.0;
  for (int t = 1; t < L; ++t)
    exact_mass += std::acosh((exact_gc[t - 1] + exact_gc[(t + 1) % L]) / (2 * exact_gc[t])) / (L - 1);
  EXPECT_LT(std::abs(r.chain.pole_mass.value - exact_mass), 4 * r.chain.pole_mass.error);
  EXPECT_GT(r.chain.pole_mass.error, 0.0);
}

TEST(Analysis, RejectsDiscardingEverything) {
  EXPECT_THROW(analysis::analyze(free_field_ensemble(4, 1.0, 2, 10), 9), InputError);
}
