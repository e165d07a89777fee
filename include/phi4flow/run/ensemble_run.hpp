// The loop every sampler command shares (phi4flow hmc, phi4flow sample): open or resume the ensemble file,
// start or restore the chains, thermalise, measure every k steps into a device-side record block, copy one
// flushed block to the host and append it, report progress, stop cleanly on a signal, close and report.
// A command builds a Sampler and the ensemble's metadata and hands both over; nothing here knows which
// algorithm runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phi4flow/io/config.hpp"
#include "phi4flow/io/ensemble.hpp"
#include "phi4flow/lattice/lattice.hpp"
#include "phi4flow/mcmc/sampler.hpp"
#include "phi4flow/parallel/communicator.hpp"

namespace phi4flow::run {

/// What the loop does, besides the sampler's own settings.
struct EnsembleRunSettings {
  std::string command;       ///< "hmc", "sample": names the run in messages
  std::string step_name;     ///< one Monte Carlo step, as users call it: "trajectory", "step"
  std::string updates_name;  ///< what the acceptance counts: "trajectories", "proposals"
  std::string headline;      ///< first line on rank 0 (", resuming at ..." is appended)
  std::string output;        ///< the ensemble file
  bool overwrite = false;
  bool resume = false;
  std::int64_t thermalisation = 0;
  std::int64_t steps = 0;  ///< steps per chain after thermalisation
  int measure_every = 1;
  int flush_every = 1;
  bool store_fields = true;
  double progress_interval = 10.0;
  /// Algorithm attributes that a resumed run may change (the number of steps, say).
  std::vector<std::string> may_change_on_resume;
};

/// \brief The metadata every ensemble carries (provenance, lattice, action, rng) and this rank's chains; the
/// command adds the `algorithm` attributes. The record series are the run's business (run_ensemble fills them).
io::EnsembleLayout ensemble_layout(const Communicator& comm, const io::Input& input, const io::Settings& settings,
                                   int chains_per_rank, const std::string& rng_key);

/// \brief The global id of this rank's first chain (its samplers' random streams start there).
inline int first_global_chain(const io::EnsembleLayout& layout) {
  return static_cast<int>(layout.chain_ids[static_cast<std::size_t>(layout.first_chain)]);
}

/// \brief Collective: run `sampler`'s chains into the ensemble described by `layout`. Returns 0, or
/// exit_interrupted after a signal caught by install_stop_handlers (the file then holds everything up to the
/// stop, and --resume continues).
/// InputError on every rank, after the last good block, if the sampler reports a failure.
int run_ensemble(const Communicator& comm, Sampler& sampler, const Lattice& lattice, io::EnsembleLayout layout,
                 const EnsembleRunSettings& settings);

}  // namespace phi4flow::run
