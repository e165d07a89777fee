// The analysis pipeline on a free-field HMC ensemble: chi2, Gc(t), G(x) per D4 orbit and the pole mass against
// the exact propagator, within 4 sigma of their Gamma-method errors.
#include <gtest/gtest.h>

#include <cmath>

#include "phi4flow/analysis/ensemble_analysis.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/mcmc/hmc.hpp"
#include "phi4flow/physics/free_field.hpp"
#include "phi4flow/physics/observables.hpp"

using namespace phi4flow;

namespace {

/// An in-memory ensemble of free-field HMC chains, in the layout read_ensemble returns.
io::Ensemble free_field_ensemble(int L, double m2, int chains, int records) {
  const Lattice lattice(L);
  const Phi4Action action(lattice, Couplings{m2, 0.0});
  Hmc hmc(action, HmcParams{1.0, 8}, 77, 0, chains);
  FieldBatch phi("phi", chains, lattice.volume());
  hmc.initial_fields(phi);
  for (int t = 0; t < 50; ++t) hmc.trajectory(phi, t);

  io::Ensemble ens;
  ens.L = L;
  ens.n_chains = chains;
  ens.n_records = records;
  ens.has_fields = true;
  ens.action = {{"m2", m2}, {"lam", 0.0}};
  ens.algorithm = {{"name", std::string("hmc")}};
  ens.step = io::HostSteps("step", chains, records);
  ens.phi = io::HostReals3("phi", chains, records, lattice.volume());
  ens.gc = io::HostReals3("gc", chains, records, L);
  for (const auto& name : field_observable_names()) ens.scalars[name] = io::HostReals2(name, chains, records);
  BatchScalars S("S", chains);
  Kokkos::View<double*, HostSpace> gc("gc", L);
  for (int r = 0; r < records; ++r) {
    hmc.trajectory(phi, 50 + r);
    action.action(phi, S);
    const auto host = Kokkos::create_mirror_view_and_copy(HostSpace(), phi);
    const auto host_S = Kokkos::create_mirror_view_and_copy(HostSpace(), S);
    for (int c = 0; c < chains; ++c) {
      ens.step(c, r) = 50 + r;
      const FieldObservables obs = measure_field(lattice, host, c, host_S(c));
      ens.scalars["M"](c, r) = obs.M;
      ens.scalars["abs_M"](c, r) = obs.abs_M;
      ens.scalars["M2"](c, r) = obs.M2;
      ens.scalars["S_per_site"](c, r) = obs.S_per_site;
      slice_correlator(lattice, host, c, gc);
      for (int t = 0; t < L; ++t) ens.gc(c, r, t) = gc(t);
      for (int s = 0; s < lattice.volume(); ++s) ens.phi(c, r, s) = host(c, s);
    }
  }
  return ens;
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
