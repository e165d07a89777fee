// Per-configuration observables (math.md Section 2), measured on the host from a copy of the fields:
// magnetisation M = (1/N) sum_x phi(x), |M|, M^2, S/N, and the zero-momentum slice correlator
//   gc(t) = (1/(L N)) sum_t0 s(t0) s(t0 + t),  s(t) = sum_x1 phi(x1, t),
// whose ensemble average minus <M>^2 is Gc(t) of the paper's Eq. 14; chi2 = N (<M^2> - <M>^2).
#pragma once

#include <string>
#include <vector>

#include "phi4flow/lattice/lattice.hpp"
#include "phi4flow/types.hpp"

namespace phi4flow {

/// Names of the per-configuration scalar observables, in the order measure_field() returns them.
inline const std::vector<std::string>& field_observable_names() {
  static const std::vector<std::string> names = {"M", "abs_M", "M2", "S_per_site"};
  return names;
}

struct FieldObservables {
  double M = 0.0;
  double abs_M = 0.0;
  double M2 = 0.0;
  double S_per_site = 0.0;
};

/// \brief Scalar observables of field b of a host batch whose action is S.
FieldObservables measure_field(const Lattice& lattice, const HostFieldBatch& phi, int b, double S);

/// \brief Slice correlator gc(t), t = 0..L-1, of field b of a host batch, written to gc(0..L-1).
void slice_correlator(const Lattice& lattice, const HostFieldBatch& phi, int b,
                      const Kokkos::View<double*, HostSpace>& gc);

}  // namespace phi4flow
