// HMC: leapfrog reversibility and O(eps^2) energy violation; the free field's exact propagator reproduced.
#include <gtest/gtest.h>

#include <cmath>

#include "phi4flow/lattice/lattice.hpp"
#include "phi4flow/mcmc/hmc.hpp"
#include "phi4flow/physics/free_field.hpp"
#include "phi4flow/physics/observables.hpp"
#include "phi4flow/stats/gamma.hpp"

using namespace phi4flow;

namespace {

FieldBatch gaussian(int batch, int n_sites, std::uint32_t seed, double scale) {
  FieldBatch f("f", batch, n_sites);
  rng::fill_normal(rng::Philox(seed, rng::Purpose::test), 0, 0, f);
  auto h = Kokkos::create_mirror_view_and_copy(HostSpace(), f);
  for (std::size_t b = 0; b < h.extent(0); ++b)
    for (std::size_t s = 0; s < h.extent(1); ++s) h(b, s) *= scale;
  Kokkos::deep_copy(f, h);
  return f;
}

}  // namespace

TEST(Hmc, LeapfrogIsReversible) {
  const Lattice lat(6);
  const Phi4Action action(lat, Couplings{-4.0, 6.975});
  Hmc hmc(action, HmcParams{}, 1, 0, 3);
  FieldBatch phi = gaussian(3, lat.volume(), 1, 0.5);
  FieldBatch pi = gaussian(3, lat.volume(), 2, 1.0);
  const auto phi0 = Kokkos::create_mirror_view_and_copy(HostSpace(), phi);
  hmc.leapfrog(phi, pi, 0.05, 20);
  // Momenta flipped on the host: nvcc rejects device lambdas in a test body (a private member function).
  const auto h_pi = Kokkos::create_mirror_view_and_copy(HostSpace(), pi);
  for (int b = 0; b < 3; ++b)
    for (int s = 0; s < lat.volume(); ++s) h_pi(b, s) = -h_pi(b, s);
  Kokkos::deep_copy(pi, h_pi);
  hmc.leapfrog(phi, pi, 0.05, 20);
  const auto phi1 = Kokkos::create_mirror_view_and_copy(HostSpace(), phi);
  for (int b = 0; b < 3; ++b)
    for (int s = 0; s < lat.volume(); ++s) EXPECT_NEAR(phi1(b, s), phi0(b, s), 1e-11);
}

// For a fixed trajectory length the leapfrog energy violation shrinks as eps^2.
TEST(Hmc, EnergyViolationScalesAsStepSquared) {
  const Lattice lat(6);
  const Phi4Action action(lat, Couplings{-4.0, 6.975});
  Hmc hmc(action, HmcParams{}, 1, 0, 1);
  const FieldBatch phi0 = gaussian(1, lat.volume(), 3, 0.6);
  const FieldBatch pi0 = gaussian(1, lat.volume(), 4, 1.0);
  std::vector<double> dH;
  for (int n_steps : {20, 40, 80}) {
    FieldBatch phi("phi", 1, lat.volume()), pi("pi", 1, lat.volume());
    Kokkos::deep_copy(phi, phi0);
    Kokkos::deep_copy(pi, pi0);
    BatchScalars H0("H0", 1), H1("H1", 1);
    hmc.hamiltonian(phi, pi, H0);
    hmc.leapfrog(phi, pi, 0.5 / n_steps, n_steps);
    hmc.hamiltonian(phi, pi, H1);
    auto h0 = Kokkos::create_mirror_view_and_copy(HostSpace(), H0);
    auto h1 = Kokkos::create_mirror_view_and_copy(HostSpace(), H1);
    dH.push_back(std::abs(h1(0) - h0(0)));
  }
  EXPECT_GT(dH[0], 1e-8);
  EXPECT_NEAR(dH[0] / dH[1], 4.0, 0.4);
  EXPECT_NEAR(dH[1] / dH[2], 4.0, 0.4);
}

// A step size far too large makes the energy violation overflow: the sampler must say so and name the fix.
TEST(Hmc, ReportsANonFiniteEnergyViolation) {
  const Lattice lat(4);
  const Phi4Action action(lat, Couplings{-4.0, 6.975});
  HmcSampler hmc(action, HmcParams{200.0, 20}, 3, 0, 2);  // step size 10
  hmc.start();
  for (int step = 0; step < 20 && hmc.failure().empty(); ++step) hmc.advance(step, 20 - step);
  const std::string failure = hmc.failure();
  EXPECT_NE(failure.find("non-finite"), std::string::npos) << failure;
  EXPECT_NE(failure.find("hmc.leapfrog_steps"), std::string::npos) << failure;

  HmcSampler fine(action, HmcParams{1.0, 10}, 3, 0, 2);
  fine.start();
  for (int step = 0; step < 20; ++step) fine.advance(step, 20 - step);
  EXPECT_TRUE(fine.failure().empty()) << fine.failure();
}

TEST(Hmc, SameStreamsGiveSameChainsWhateverTheBatchSplit) {
  const Lattice lat(4);
  const Phi4Action action(lat, Couplings{-4.0, 6.0});
  Hmc all(action, HmcParams{1.0, 8}, 7, 0, 4);
  Hmc upper(action, HmcParams{1.0, 8}, 7, 2, 2);
  FieldBatch phi_all("all", 4, lat.volume()), phi_upper("upper", 2, lat.volume());
  all.initial_fields(phi_all);
  upper.initial_fields(phi_upper);
  for (std::uint64_t step = 0; step < 5; ++step) {
    all.trajectory(phi_all, step);
    upper.trajectory(phi_upper, step);
  }
  const auto a = Kokkos::create_mirror_view_and_copy(HostSpace(), phi_all);
  const auto u = Kokkos::create_mirror_view_and_copy(HostSpace(), phi_upper);
  for (int b = 0; b < 2; ++b)
    for (int s = 0; s < lat.volume(); ++s) EXPECT_EQ(a(b + 2, s), u(b, s));
}

// lam = 0: the chain must reproduce chi2 = 1/(2 m2), Gc(t) and G(x) of the exact propagator within 4 sigma;
// the same data must exclude a 10% different mass, so a wrong action cannot pass.
TEST(Hmc, FreeFieldReproducesExactPropagator) {
  const int L = 8, n_chains = 8, n_therm = 50, n_traj = 2500;
  const double m2 = 0.5;
  const Lattice lat(L);
  const int n = lat.volume();
  const Phi4Action action(lat, Couplings{m2, 0.0});
  // The production path: the sampler the hmc command runs and the meter its records come from.
  HmcSampler hmc(action, HmcParams{1.0, 8}, 2024, 0, n_chains);
  const ObservableMeter meter(lat, n_chains);
  hmc.start();

  // Primaries per chain: M, M^2, gc(t) for t <= L/2, and C(x) = (1/N) sum_y phi(y) phi(y + x) at x = (1,0), (1,1),
  // (2,1).
  const std::vector<Site> displacements = {{1, 0}, {1, 1}, {2, 1}};
  const int n_gc = L / 2 + 1;
  std::vector<stats::Replicas> primaries(2 + n_gc + displacements.size(), stats::Replicas(n_chains));
  long long accepted_in_thermalisation = 0;
  for (int step = 0; step < n_therm + n_traj; ++step) {
    hmc.advance(step, n_therm + n_traj - step);
    if (step + 1 == n_therm) accepted_in_thermalisation = hmc.acceptance().accepted;
    if (step < n_therm) continue;
    const auto obs = meter.measure(hmc.fields(), hmc.actions());
    const auto host = Kokkos::create_mirror_view_and_copy(HostSpace(), hmc.fields());
    for (int b = 0; b < n_chains; ++b) {
      primaries[0][b].push_back(obs.scalars(0, b));  // M
      primaries[1][b].push_back(obs.scalars(2, b));  // M2
      for (int t = 0; t < n_gc; ++t) primaries[2 + t][b].push_back(obs.gc(b, t));
      for (std::size_t d = 0; d < displacements.size(); ++d) {
        double sum = 0.0;
        for (int y = 0; y < n; ++y) {
          const Site c = lat.coords(y);
          sum += host(b, y) * host(b, lat.index(c.x1 + displacements[d].x1, c.x2 + displacements[d].x2));
        }
        primaries[2 + n_gc + d][b].push_back(sum / n);
      }
    }
  }
  const AcceptanceCounts counts = hmc.acceptance();
  EXPECT_EQ(counts.proposed, static_cast<long long>(n_chains) * (n_therm + n_traj));
  const long long accepted = counts.accepted - accepted_in_thermalisation;
  EXPECT_TRUE(hmc.failure().empty()) << hmc.failure();
  EXPECT_GT(static_cast<double>(accepted) / (n_chains * n_traj), 0.7);

  const auto connected = [&](int alpha) {
    return stats::gamma_method_derived({primaries[0], primaries[alpha]},
                                       [](const std::vector<double>& a) { return a[1] - a[0] * a[0]; });
  };
  const auto chi2 = stats::gamma_method_derived({primaries[0], primaries[1]},
                                                [n](const std::vector<double>& a) { return n * (a[1] - a[0] * a[0]); });
  const double exact_chi2 = free_field::susceptibility(m2);
  EXPECT_LT(std::abs(chi2.value - exact_chi2), 4 * chi2.error) << chi2.value << " +- " << chi2.error;
  EXPECT_GT(std::abs(chi2.value - free_field::susceptibility(1.1 * m2)), 4 * chi2.error);

  const auto exact_gc = free_field::slice_correlator(lat, m2);
  for (int t = 0; t < n_gc; ++t) {
    const auto est = connected(2 + t);
    EXPECT_LT(std::abs(est.value - exact_gc[t]), 4 * est.error) << "Gc(" << t << ") = " << est.value;
  }
  const auto exact_G = free_field::propagator(lat, m2);
  const auto wrong_G = free_field::propagator(lat, 1.1 * m2);
  for (std::size_t d = 0; d < displacements.size(); ++d) {
    const auto est = connected(2 + n_gc + d);
    const double exact = exact_G[lat.index(displacements[d].x1, displacements[d].x2)];
    EXPECT_LT(std::abs(est.value - exact), 4 * est.error) << "G(x) at displacement " << d;
    if (d == 0) {
      EXPECT_GT(std::abs(est.value - wrong_G[lat.index(1, 0)]), 4 * est.error);
    }
  }
}
