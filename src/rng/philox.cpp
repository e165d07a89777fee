// Batched normal numbers from the counter-based generator.
#include "phi4flow/rng/philox.hpp"

#include "phi4flow/error.hpp"

namespace phi4flow::rng {

// Not in an unnamed namespace: nvcc rejects device lambdas inside functions with internal linkage.
namespace detail {
/// Row b of the batch gets the normal numbers of counter (stream, step) = key(b), two per Philox call. Flat over
/// rows x site pairs, pairs fastest: consecutive threads write consecutive addresses on every backend.
template <class Key>
void fill_rows(const char* label, const Philox& gen, const FieldBatch& batch, const Key& key) {
  const int n_sites = static_cast<int>(batch.extent(1));
  const int n_pairs = (n_sites + 1) / 2;
  Kokkos::parallel_for(
      label, Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(batch.extent(0)) * n_pairs),
      KOKKOS_LAMBDA(const int i) {
        const int b = i / n_pairs, pair = i % n_pairs;
        std::uint32_t stream;
        std::uint64_t step;
        key(b, stream, step);
        double z0, z1;
        gen.normal_pair(stream, step, static_cast<std::uint32_t>(pair), z0, z1);
        batch(b, 2 * pair) = z0;
        if (2 * pair + 1 < n_sites) batch(b, 2 * pair + 1) = z1;
      });
}
}  // namespace detail

void fill_normal(const Philox& gen, std::uint32_t first_stream, std::uint64_t step, const FieldBatch& batch) {
  detail::fill_rows("phi4flow::rng::fill_normal", gen, batch,
            KOKKOS_LAMBDA(const int b, std::uint32_t& stream, std::uint64_t& row_step) {
              stream = first_stream + static_cast<std::uint32_t>(b);
              row_step = step;
            });
}

void fill_normal(const Philox& gen, const Kokkos::View<const std::uint32_t*, MemSpace>& streams,
                 const Kokkos::View<const std::uint64_t*, MemSpace>& steps, const FieldBatch& batch) {
  PHI4FLOW_CHECK(streams.extent(0) == batch.extent(0) && steps.extent(0) == batch.extent(0),
                 "rng::fill_normal: one stream and one step per row of the batch");
  detail::fill_rows("phi4flow::rng::fill_normal_keyed", gen, batch,
            KOKKOS_LAMBDA(const int b, std::uint32_t& stream, std::uint64_t& row_step) {
              stream = streams(b);
              row_step = steps(b);
            });
}

}  // namespace phi4flow::rng
