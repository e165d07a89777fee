// Batched normal numbers from the counter-based generator.
#include "phi4flow/rng/philox.hpp"

#include "phi4flow/error.hpp"

namespace phi4flow::rng {

void fill_normal(const Philox& gen, std::uint32_t first_stream, std::uint64_t step, const FieldBatch& batch) {
  const int n_sites = static_cast<int>(batch.extent(1));
  const int n_pairs = (n_sites + 1) / 2;
  Kokkos::parallel_for(
      "phi4flow::rng::fill_normal",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {static_cast<int>(batch.extent(0)), n_pairs}),
      KOKKOS_LAMBDA(const int b, const int pair) {
        double z0, z1;
        gen.normal_pair(first_stream + static_cast<std::uint32_t>(b), step, static_cast<std::uint32_t>(pair), z0, z1);
        batch(b, 2 * pair) = z0;
        if (2 * pair + 1 < n_sites) batch(b, 2 * pair + 1) = z1;
      });
}

void fill_normal(const Philox& gen, const Kokkos::View<const std::uint32_t*, MemSpace>& streams,
                 const Kokkos::View<const std::uint64_t*, MemSpace>& steps, const FieldBatch& batch) {
  PHI4FLOW_CHECK(streams.extent(0) == batch.extent(0) && steps.extent(0) == batch.extent(0),
                 "rng::fill_normal: one stream and one step per row of the batch");
  const int n_sites = static_cast<int>(batch.extent(1));
  const int n_pairs = (n_sites + 1) / 2;
  Kokkos::parallel_for(
      "phi4flow::rng::fill_normal_keyed",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {static_cast<int>(batch.extent(0)), n_pairs}),
      KOKKOS_LAMBDA(const int b, const int pair) {
        double z0, z1;
        gen.normal_pair(streams(b), steps(b), static_cast<std::uint32_t>(pair), z0, z1);
        batch(b, 2 * pair) = z0;
        if (2 * pair + 1 < n_sites) batch(b, 2 * pair + 1) = z1;
      });
}

}  // namespace phi4flow::rng
