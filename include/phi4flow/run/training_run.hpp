// The training loop that phi4flow train configures: optimisation steps of a Trainer with progress lines, a
// history file (CSV, rank 0), checkpoints every k steps and at the end, a wall-clock limit, a clean stop on a
// signal, and a stop with the last good checkpoint kept if the loss stops being finite.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "phi4flow/parallel/communicator.hpp"
#include "phi4flow/train/trainer.hpp"

namespace phi4flow::run {

struct TrainingRunSettings {
  std::int64_t steps = 0;  ///< the step count to reach (a resumed run continues towards it)
  int ess_every = 50;      ///< steps between ESS estimates (and history rows)
  int ess_samples = 1000;
  int checkpoint_every = 100;
  double time_limit = 0.0;  ///< seconds of this run, 0 for none
  std::string checkpoint;   ///< where save() writes, for messages
  std::string history;      ///< CSV history: step,loss,ess,lr,seconds
  bool resume = false;      ///< keep the history up to the checkpoint's step instead of starting it afresh
  double earlier_seconds = 0.0;  ///< training time behind the start, so that history times add up
};

/// Saves a checkpoint; gets the training seconds so far (earlier runs included).
using SaveCheckpoint = std::function<void(double seconds)>;

/// \brief Collective: train until settings.steps, the time limit or a signal. `save` runs on rank 0 only.
/// Returns 0, or exit_interrupted after a signal caught by install_stop_handlers. InputError on every rank, naming the step and what to lower,
/// if the loss becomes NaN or infinite (the checkpoint then keeps the last finite state).
int run_training(const Communicator& comm, Trainer& trainer, const TrainingRunSettings& settings,
                 const SaveCheckpoint& save);

}  // namespace phi4flow::run
