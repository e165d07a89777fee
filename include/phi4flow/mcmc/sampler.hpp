// The interface every Markov chain sampler implements (HMC, flow Metropolis-Hastings, any later one): a batch of
// independent chains, advanced one Monte Carlo step at a time, whose state lives in Views of the default memory
// space. The ensemble run (run/ensemble_run.hpp) owns everything around it: measuring, records, files, resume.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phi4flow/types.hpp"

namespace phi4flow {

/// Where a sampler writes its own series of one record: scalars(k, chain) for its k-th record_scalars() name,
/// vectors(v, chain, t) for its v-th record_vectors() name (device Views into the run's record block).
struct SamplerRecord {
  Kokkos::View<double**, Kokkos::LayoutStride, MemSpace> scalars;
  Kokkos::View<double***, Kokkos::LayoutStride, MemSpace> vectors;
};

/// Per-chain numbers besides the field that a resumed chain needs, [chain][k] for the k-th state_values() name.
using ChainValues = Kokkos::View<double**, Kokkos::LayoutRight, MemSpace>;

/// Accepted and proposed updates of this process's chains since the sampler was made.
struct AcceptanceCounts {
  long long accepted = 0;
  long long proposed = 0;
};

class Sampler {
 public:
  virtual ~Sampler() = default;

  /// \brief Names of the per-record scalar and vector series the sampler records besides the field observables
  /// of its chains' states, and of the per-chain values it keeps beside the fields for resuming.
  virtual std::vector<std::string> record_scalars() const = 0;
  virtual std::vector<std::string> record_vectors() const { return {}; }
  virtual std::vector<std::string> state_values() const { return {}; }

  /// \brief Fresh chains: the sampler's own initial state.
  virtual void start() = 0;
  /// \brief Chains continued from a saved state: fields [chain][site] and values [chain][state_values()].
  virtual void restore(const ConstFieldBatch& phi, const ChainValues& values) = 0;
  /// \brief The state a resumed run needs, into `phi` and `values` (shaped as for restore).
  virtual void save(const FieldBatch& phi, const ChainValues& values) const = 0;

  /// \brief Advance every chain by Monte Carlo step `step`. Steps come in increasing order; `steps_left` (>= 1,
  /// counting this one) lets a sampler that prepares work in batches prepare no more than the run needs.
  virtual void advance(std::int64_t step, std::int64_t steps_left) = 0;

  /// \brief The chains' current fields and their actions S.
  virtual ConstFieldBatch fields() const = 0;
  virtual BatchScalars actions() = 0;
  /// \brief Write this step's own series (record_scalars(), record_vectors()) into `out`.
  virtual void record(const SamplerRecord& out) = 0;

  /// \brief Accept/propose counts so far (a copy from the device: call it when reporting, not every step).
  virtual AcceptanceCounts acceptance() const = 0;
  /// \brief An empty string, or what went wrong beyond repair (a non-finite energy) and which setting to change.
  virtual std::string failure() const { return {}; }
};

}  // namespace phi4flow
