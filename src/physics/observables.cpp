// Device measurement of per-configuration observables. Every sum runs in a fixed order inside one thread
// (sites in index order, slices over x1, correlator over t0), so that a record does not depend on the backend's
// thread count; measurements are rare next to the Monte Carlo steps, so this costs nothing that matters.
#include "phi4flow/physics/observables.hpp"

#include "phi4flow/error.hpp"

namespace phi4flow {

ObservableMeter::ObservableMeter(const Lattice& lattice, int batch)
    : lattice_(lattice),
      slices_(uninitialized("phi4flow::ObservableMeter::slices"), batch,
              lattice.extent()) {}

void ObservableMeter::measure(const ConstFieldBatch& phi, const ConstBatchScalars& S, const ObservableScalars& scalars,
                              const SliceCorrelators& gc) const {
  const int fields = static_cast<int>(phi.extent(0));
  PHI4FLOW_CHECK(fields <= static_cast<int>(slices_.extent(0)), "ObservableMeter: batch larger than planned");
  const int L = lattice_.extent(), n = lattice_.volume();
  const auto slices = slices_;
  Kokkos::parallel_for(
      "phi4flow::ObservableMeter::scalars", Kokkos::RangePolicy<ExecSpace>(0, fields), KOKKOS_LAMBDA(const int b) {
        double sum = 0.0;
        for (int s = 0; s < n; ++s) sum += phi(b, s);
        const double M = sum / n;
        scalars(0, b) = M;
        scalars(1, b) = kmath::fabs(M);
        scalars(2, b) = M * M;
        scalars(3, b) = S(b) / n;
      });
  // Consecutive threads take consecutive t of one field: coalesced reads of phi's rows on a GPU.
  Kokkos::parallel_for(
      "phi4flow::ObservableMeter::slices", Kokkos::RangePolicy<ExecSpace>(0, fields * L), KOKKOS_LAMBDA(const int i) {
        const int b = i / L, t = i % L;
        double sum = 0.0;
        for (int x1 = 0; x1 < L; ++x1) sum += phi(b, x1 * L + t);
        slices(b, t) = sum;
      });
  const double norm = 1.0 / (static_cast<double>(L) * n);
  Kokkos::parallel_for(
      "phi4flow::ObservableMeter::correlator", Kokkos::RangePolicy<ExecSpace>(0, fields * L),
      KOKKOS_LAMBDA(const int i) {
        const int b = i / L, t = i % L;
        double sum = 0.0;
        for (int t0 = 0; t0 < L; ++t0) sum += slices(b, t0) * slices(b, (t0 + t) % L);
        gc(b, t) = sum * norm;
      });
}

ObservableMeter::HostResult ObservableMeter::measure(const ConstFieldBatch& phi, const ConstBatchScalars& S) const {
  const int fields = static_cast<int>(phi.extent(0));
  Kokkos::View<double**, Kokkos::LayoutRight, MemSpace> scalars("phi4flow::ObservableMeter::scalars",
                                                                field_observable_names().size(), fields);
  Kokkos::View<double**, Kokkos::LayoutRight, MemSpace> gc("phi4flow::ObservableMeter::gc", fields,
                                                           lattice_.extent());
  measure(phi, S, scalars, gc);
  return {Kokkos::create_mirror_view_and_copy(HostSpace(), scalars), Kokkos::create_mirror_view_and_copy(HostSpace(), gc)};
}

}  // namespace phi4flow
