// Kernels on batches that every flow model needs: the Gaussian prior's log density and per-sample sums.
#include "batch_kernels.hpp"

namespace phi4flow::flow::detail {

namespace {
using Team = Kokkos::TeamPolicy<ExecSpace>::member_type;
}  // namespace

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
  Kokkos::parallel_for(
      "phi4flow::flow::log_prior", Kokkos::TeamPolicy<ExecSpace>(static_cast<int>(z.extent(0)), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& team) {
        const int b = team.league_rank();
        double sum = 0.0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, n), [&](const int x, double& partial) { partial += z(b, x) * z(b, x); }, sum);
        Kokkos::single(Kokkos::PerTeam(team), [&]() { out(b) = -0.5 * sum - norm; });
      });
}

}  // namespace phi4flow::flow::detail
