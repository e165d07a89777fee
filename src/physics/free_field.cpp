// The free-field propagator by direct Fourier sum (O(N^2): meant for tests and small lattices).
#include "phi4flow/physics/free_field.hpp"

#include <cmath>

namespace phi4flow::free_field {

std::vector<double> propagator(const Lattice& lattice, double m2) {
  const int L = lattice.extent();
  const int n = lattice.volume();
  const double two_pi_over_L = 2.0 * M_PI / L;
  std::vector<double> Gk(n);
  for (int s = 0; s < n; ++s) {
    const Site k = lattice.coords(s);
    const double s1 = std::sin(0.5 * two_pi_over_L * k.x1), s2 = std::sin(0.5 * two_pi_over_L * k.x2);
    Gk[s] = 1.0 / (2.0 * (4.0 * (s1 * s1 + s2 * s2) + m2));
  }
  std::vector<double> G(n, 0.0);
  for (int x = 0; x < n; ++x) {
    const Site r = lattice.coords(x);
    double sum = 0.0;
    for (int s = 0; s < n; ++s) {
      const Site k = lattice.coords(s);
      sum += Gk[s] * std::cos(two_pi_over_L * (k.x1 * r.x1 + k.x2 * r.x2));
    }
    G[x] = sum / n;
  }
  return G;
}

std::vector<double> slice_correlator(const Lattice& lattice, double m2) {
  const int L = lattice.extent();
  const std::vector<double> G = propagator(lattice, m2);
  std::vector<double> Gc(L, 0.0);
  for (int x1 = 0; x1 < L; ++x1)
    for (int t = 0; t < L; ++t) Gc[t] += G[lattice.index(x1, t)] / L;
  return Gc;
}

}  // namespace phi4flow::free_field
