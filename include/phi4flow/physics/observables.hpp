// Per-configuration observables (docs/validation.md), measured on the device for every field of a batch:
// magnetisation M = (1/N) sum_x phi(x), |M|, M^2, S/N, and the zero-momentum slice correlator
//   gc(t) = (1/(L N)) sum_t0 s(t0) s(t0 + t),  s(t) = sum_x1 phi(x1, t),
// whose ensemble average minus <M>^2 is Gc(t) of the paper's Eq. 14; chi2 = N (<M^2> - <M>^2).
#pragma once

#include <string>
#include <vector>

#include "phi4flow/lattice/lattice.hpp"
#include "phi4flow/types.hpp"

namespace phi4flow {

/// Names of the per-configuration scalar observables, in the order ObservableMeter writes them.
inline const std::vector<std::string>& field_observable_names() {
  static const std::vector<std::string> names = {"M", "abs_M", "M2", "S_per_site"};
  return names;
}

/// Device Views the meter writes: scalars(k, b) for the k-th field_observable_names() entry of field b, and
/// gc(b, t). Strided, so that they can be slices of a larger record block.
using ObservableScalars = Kokkos::View<double**, Kokkos::LayoutStride, MemSpace>;
using SliceCorrelators = Kokkos::View<double**, Kokkos::LayoutStride, MemSpace>;

/// Measures batches of up to `batch` fields; owns the scratch it needs, so that measuring allocates nothing.
class ObservableMeter {
 public:
  ObservableMeter(const Lattice& lattice, int batch);

  /// \brief Observables of every field b of phi (actions S(b)) into scalars and gc.
  void measure(const ConstFieldBatch& phi, const ConstBatchScalars& S, const ObservableScalars& scalars,
               const SliceCorrelators& gc) const;

  /// Host copies of one measurement, for tests and tools: scalars [observable][field], gc [field][t].
  struct HostResult {
    Kokkos::View<double**, Kokkos::LayoutRight, HostSpace> scalars, gc;
  };
  HostResult measure(const ConstFieldBatch& phi, const ConstBatchScalars& S) const;

 private:
  Lattice lattice_;
  Kokkos::View<double**, Kokkos::LayoutRight, MemSpace> slices_;  // [field][t]: s(t) of each field
};

}  // namespace phi4flow
