// The phi^4 action and force: brute-force reference, finite differences, lattice and sign symmetries.
#include <gtest/gtest.h>

#include <cmath>

#include "phi4flow/error.hpp"
#include "phi4flow/lattice/lattice.hpp"
#include "phi4flow/rng/philox.hpp"
#include "phi4flow/physics/action.hpp"

using namespace phi4flow;

namespace {

HostFieldBatch random_fields(int batch, int n_sites, std::uint32_t seed) {
  FieldBatch phi("phi", batch, n_sites);
  rng::fill_normal(rng::Philox(seed, rng::Purpose::test), 0, 0, phi);
  return Kokkos::create_mirror_view_and_copy(HostSpace(), phi);
}

HostBatchScalars evaluate_action(const Phi4Action& action, const HostFieldBatch& host_phi) {
  auto phi = Kokkos::create_mirror_view_and_copy(MemSpace(), host_phi);
  BatchScalars S("S", phi.extent(0));
  action.action(phi, S);
  return Kokkos::create_mirror_view_and_copy(HostSpace(), S);
}

// The textbook form: phi^T Delta phi with the Laplacian as a matrix, plus the potential.
double reference_action(const Lattice& lat, const Couplings& c, const HostFieldBatch& phi, int b) {
  const int n = lat.volume();
  double S = 0.0;
  for (int x = 0; x < n; ++x)
    for (int y = 0; y < n; ++y) {
      double delta = (x == y) ? 4.0 : 0.0;
      for (int mu = 0; mu < 2; ++mu)
        for (int sign : {-1, 1})
          if (lat.neighbour(x, mu, sign) == y) delta -= 1.0;
      S += phi(b, x) * delta * phi(b, y);
    }
  for (int x = 0; x < n; ++x) {
    const double p2 = phi(b, x) * phi(b, x);
    S += c.m2 * p2 + c.lam * p2 * p2;
  }
  return S;
}

}  // namespace

TEST(Action, MatchesBruteForceLaplacian) {
  for (int L : {2, 3, 6}) {
    const Lattice lat(L);
    const Couplings c{-4.0, 6.975};
    const Phi4Action action(lat, c);
    const auto phi = random_fields(5, lat.volume(), 11);
    const auto S = evaluate_action(action, phi);
    for (int b = 0; b < 5; ++b) {
      const double ref = reference_action(lat, c, phi, b);
      EXPECT_NEAR(S(b), ref, 1e-12 * (1.0 + std::abs(ref))) << "L = " << L;
    }
  }
}

TEST(Action, ForceMatchesCentralFiniteDifferences) {
  const Lattice lat(5);
  const Phi4Action action(lat, Couplings{-4.0, 5.3});
  auto phi = random_fields(1, lat.volume(), 12);
  FieldBatch dev_phi = Kokkos::create_mirror_view_and_copy(MemSpace(), phi);
  FieldBatch force("force", 1, lat.volume());
  action.force(dev_phi, force);
  const auto host_force = Kokkos::create_mirror_view_and_copy(HostSpace(), force);
  const double h = 1e-5;
  for (int s = 0; s < lat.volume(); ++s) {
    HostFieldBatch plus("plus", 1, lat.volume()), minus("minus", 1, lat.volume());
    Kokkos::deep_copy(plus, phi);
    Kokkos::deep_copy(minus, phi);
    plus(0, s) += h;
    minus(0, s) -= h;
    const double fd = (evaluate_action(action, plus)(0) - evaluate_action(action, minus)(0)) / (2 * h);
    EXPECT_NEAR(host_force(0, s), fd, 1e-6 * (1.0 + std::abs(fd)));
  }
}

TEST(Action, InvariantUnderAllLatticeSymmetriesAndSignFlip) {
  const Lattice lat(4);
  const Phi4Action action(lat, Couplings{-4.0, 6.975});
  const auto group = lat.symmetries();
  const auto phi = random_fields(1, lat.volume(), 13);
  HostFieldBatch images("images", group.size() + 1, lat.volume());
  for (std::size_t g = 0; g < group.size(); ++g)
    for (int s = 0; s < lat.volume(); ++s) images(g, lat.apply(group[g], s)) = phi(0, s);
  for (int s = 0; s < lat.volume(); ++s) images(group.size(), s) = -phi(0, s);
  const auto S0 = evaluate_action(action, phi)(0);
  const auto S = evaluate_action(action, images);
  for (std::size_t g = 0; g <= group.size(); ++g) EXPECT_NEAR(S(g), S0, 1e-12 * std::abs(S0)) << "image " << g;
}

TEST(Action, RejectsUnboundedCouplings) {
  EXPECT_THROW(Phi4Action(Lattice(4), Couplings{-4.0, -1.0}), InputError);
  EXPECT_THROW(Phi4Action(Lattice(4), Couplings{-1.0, 0.0}), InputError);
  EXPECT_NO_THROW(Phi4Action(Lattice(4), Couplings{0.5, 0.0}));
}
