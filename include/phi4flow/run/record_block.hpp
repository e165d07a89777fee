// The records of one flushed block, built on the device where the chains live and copied to the host once per
// block: the host side is an io::RecordBlock whose series are slices of one host mirror, so the copy is a few
// deep_copy calls whatever the number of series.
#pragma once

#include <cstdint>

#include "phi4flow/io/ensemble.hpp"
#include "phi4flow/mcmc/sampler.hpp"
#include "phi4flow/physics/observables.hpp"

namespace phi4flow::run {

class DeviceRecordBlock {
 public:
  /// \brief Room for `capacity` records of the layout's local chains; scalar series 0..3 are the field
  /// observables, vector series 0 is Gc, then the layout's record_vectors.
  DeviceRecordBlock(const io::EnsembleLayout& layout, int capacity);

  int size() const { return n_; }
  int capacity() const { return static_cast<int>(step_.extent(1)); }

  /// \brief Record `step` of `sampler` as the next record: its chains' field observables (and fields, if
  /// stored), then the sampler's own series.
  void record(std::int64_t step, Sampler& sampler, const ObservableMeter& meter);

  /// \brief The block as the writer takes it, with the sampler's state after it and the step to resume at;
  /// empties the block.
  const io::RecordBlock& to_host(const Sampler& sampler, std::int64_t next_step);

 private:
  int n_ = 0;
  bool store_fields_;
  Kokkos::View<std::int64_t**, Kokkos::LayoutRight, MemSpace> step_;  // [chain][record]
  Kokkos::View<double***, Kokkos::LayoutRight, MemSpace> phi_;        // [chain][record][site]
  Kokkos::View<double***, Kokkos::LayoutRight, MemSpace> scalars_;    // [series][chain][record]
  Kokkos::View<double****, Kokkos::LayoutRight, MemSpace> vectors_;   // [series][chain][record][t]
  FieldBatch state_phi_;
  ChainValues state_values_;
  decltype(step_)::HostMirror host_step_;
  decltype(phi_)::HostMirror host_phi_;
  decltype(scalars_)::HostMirror host_scalars_;
  decltype(vectors_)::HostMirror host_vectors_;
  io::RecordBlock block_, partial_;
};

}  // namespace phi4flow::run
