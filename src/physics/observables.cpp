// Host-side measurement of per-configuration observables.
#include "phi4flow/physics/observables.hpp"

#include <cmath>

namespace phi4flow {

FieldObservables measure_field(const Lattice& lattice, const HostFieldBatch& phi, int b, double S) {
  const int n = lattice.volume();
  double sum = 0.0;
  for (int s = 0; s < n; ++s) sum += phi(b, s);
  FieldObservables obs;
  obs.M = sum / n;
  obs.abs_M = std::abs(obs.M);
  obs.M2 = obs.M * obs.M;
  obs.S_per_site = S / n;
  return obs;
}

void slice_correlator(const Lattice& lattice, const HostFieldBatch& phi, int b,
                      const Kokkos::View<double*, HostSpace>& gc) {
  const int L = lattice.extent();
  std::vector<double> slice(L, 0.0);
  for (int x1 = 0; x1 < L; ++x1)
    for (int x2 = 0; x2 < L; ++x2) slice[x2] += phi(b, lattice.index(x1, x2));
  const double norm = 1.0 / (static_cast<double>(L) * lattice.volume());
  for (int t = 0; t < L; ++t) {
    double sum = 0.0;
    for (int t0 = 0; t0 < L; ++t0) sum += slice[t0] * slice[(t0 + t) % L];
    gc(t) = sum * norm;
  }
}

}  // namespace phi4flow
