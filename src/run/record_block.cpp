// Device-side records and their one host copy per block.
#include "phi4flow/run/record_block.hpp"

#include "phi4flow/error.hpp"

namespace phi4flow::run {

namespace {
template <class View, class... Extents>
View uninit(const std::string& label, Extents... extents) {
  return View(uninitialized("phi4flow::DeviceRecordBlock::" + label), extents...);
}
}  // namespace

DeviceRecordBlock::DeviceRecordBlock(const io::EnsembleLayout& layout, int capacity)
    : store_fields_(layout.store_fields) {
  const int chains = layout.local_chains, L = layout.L, sites = L * L;
  const auto scalar_series = layout.record_scalars.size();
  const auto vector_series = 1 + layout.record_vectors.size();  // Gc first
  step_ = uninit<decltype(step_)>("step", chains, capacity);
  if (store_fields_) phi_ = uninit<decltype(phi_)>("phi", chains, capacity, sites);
  scalars_ = uninit<decltype(scalars_)>("scalars", scalar_series, chains, capacity);
  vectors_ = uninit<decltype(vectors_)>("vectors", vector_series, chains, capacity, L);
  state_phi_ = FieldBatch("phi4flow::DeviceRecordBlock::state_phi", chains, sites);
  state_values_ = ChainValues("phi4flow::DeviceRecordBlock::state_values", chains, layout.state_values.size());
  host_step_ = Kokkos::create_mirror_view(step_);
  host_phi_ = Kokkos::create_mirror_view(phi_);
  host_scalars_ = Kokkos::create_mirror_view(scalars_);
  host_vectors_ = Kokkos::create_mirror_view(vectors_);

  // The host block's series are slices of the mirrors: nothing to copy between them.
  block_.step = host_step_;
  if (store_fields_) block_.phi = host_phi_;
  for (std::size_t k = 0; k < scalar_series; ++k)
    block_.scalars[layout.record_scalars[k]] = Kokkos::subview(host_scalars_, k, Kokkos::ALL, Kokkos::ALL);
  block_.gc = Kokkos::subview(host_vectors_, 0, Kokkos::ALL, Kokkos::ALL, Kokkos::ALL);
  for (std::size_t v = 1; v < vector_series; ++v)
    block_.vectors[layout.record_vectors[v - 1]] = Kokkos::subview(host_vectors_, v, Kokkos::ALL, Kokkos::ALL, Kokkos::ALL);
  block_.state_phi = io::HostReals2("phi4flow::DeviceRecordBlock::host_state_phi", chains, sites);
  block_.state_values = io::HostReals2("phi4flow::DeviceRecordBlock::host_state_values", chains,
                                       layout.state_values.size());
}

void DeviceRecordBlock::record(std::int64_t step, Sampler& sampler, const ObservableMeter& meter) {
  PHI4FLOW_CHECK(n_ < capacity(), "DeviceRecordBlock: record beyond the block's capacity");
  const int r = n_++;
  const ConstFieldBatch phi = sampler.fields();
  const int chains = static_cast<int>(phi.extent(0)), sites = static_cast<int>(phi.extent(1));
  const auto steps = step_;
  Kokkos::parallel_for(
      "phi4flow::DeviceRecordBlock::step", Kokkos::RangePolicy<ExecSpace>(0, chains),
      KOKKOS_LAMBDA(const int c) { steps(c, r) = step; });
  const int observables = static_cast<int>(field_observable_names().size());
  meter.measure(phi, sampler.actions(),
                Kokkos::subview(scalars_, std::make_pair(0, observables), Kokkos::ALL, r),
                Kokkos::subview(vectors_, 0, Kokkos::ALL, r, Kokkos::ALL));
  if (store_fields_) {
    const auto fields = phi_;
    Kokkos::parallel_for(
        "phi4flow::DeviceRecordBlock::fields", Kokkos::RangePolicy<ExecSpace>(0, chains * sites),
        KOKKOS_LAMBDA(const int j) { fields(j / sites, r, j % sites) = phi(j / sites, j % sites); });
  }
  const int scalar_series = static_cast<int>(scalars_.extent(0));
  const int vector_series = static_cast<int>(vectors_.extent(0));
  sampler.record({Kokkos::subview(scalars_, std::make_pair(observables, scalar_series), Kokkos::ALL, r),
                  Kokkos::subview(vectors_, std::make_pair(1, vector_series), Kokkos::ALL, r, Kokkos::ALL)});
}

const io::RecordBlock& DeviceRecordBlock::to_host(const Sampler& sampler, std::int64_t next_step) {
  sampler.save(state_phi_, state_values_);
  Kokkos::deep_copy(block_.state_phi, state_phi_);
  Kokkos::deep_copy(block_.state_values, state_values_);
  if (n_ > 0) {
    Kokkos::deep_copy(host_step_, step_);
    if (store_fields_) Kokkos::deep_copy(host_phi_, phi_);
    Kokkos::deep_copy(host_scalars_, scalars_);
    Kokkos::deep_copy(host_vectors_, vectors_);
  }
  block_.n = n_;
  block_.next_step = next_step;
  n_ = 0;
  if (block_.n == capacity()) return block_;
  partial_ = io::leading_records(block_);  // the writer takes records [0, n) contiguous
  return partial_;
}

}  // namespace phi4flow::run
