// Kernels on batches that every flow model needs: the Gaussian prior's log density and per-sample sums.
#include "batch_kernels.hpp"

#include <string>

#include "phi4flow/error.hpp"
#include "phi4flow/row_sums.hpp"

namespace phi4flow::flow::detail {

void require_same_batch(const char* what, int sites, const ConstFieldBatch& from, const ConstFieldBatch& to,
                        const ConstBatchScalars& scalars) {
  PHI4FLOW_CHECK(static_cast<int>(from.extent(1)) == sites && to.extent(0) == from.extent(0) &&
                     to.extent(1) == from.extent(1) && scalars.extent(0) == from.extent(0),
                 std::string(what) + ": the fields and their scalars must hold the same batch of L x L fields");
}

void subtract(const BatchScalars& x, const BatchScalars& out) {
  Kokkos::parallel_for(
      "phi4flow::flow::subtract", Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(out.extent(0))),
      KOKKOS_LAMBDA(const int b) { out(b) -= x(b); });
}

double sum_of_sums(const BatchScalars& x, const BatchScalars& y) {
  double total = 0.0;
  Kokkos::parallel_reduce(
      "phi4flow::flow::sum_of_sums", Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(x.extent(0))),
      KOKKOS_LAMBDA(const int b, double& sum) { sum += x(b) + y(b); }, total);
  return total;
}

void log_prior(const ConstFieldBatch& z, const BatchScalars& out) {
  const int n = static_cast<int>(z.extent(1));
  const double norm = 0.5 * n * 1.8378770664093454836;  // (N/2) log(2 pi)
  for_each_row_sum(
      "phi4flow::flow::log_prior", static_cast<int>(z.extent(0)), n,
      KOKKOS_LAMBDA(const int b, const int x, double& partial) { partial += z(b, x) * z(b, x); },
      KOKKOS_LAMBDA(const int b, const double sum) { out(b) = -0.5 * sum - norm; });
}

}  // namespace phi4flow::flow::detail
