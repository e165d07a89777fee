// Reverse-KL training (paper Algorithm 2), data-parallel: every rank draws its own share of the global batch
// from counter-based streams keyed by the global sample index, the flat gradient is summed over ranks through
// a Reducer, and every rank applies the identical Adam step. The same global batch on any number of ranks gives
// the same parameters up to the rounding of the sum.
#pragma once

#include <cstdint>

#include "phi4flow/flow/model.hpp"
#include "phi4flow/physics/action.hpp"
#include "phi4flow/train/adam.hpp"
#include "phi4flow/parallel/reducer.hpp"

namespace phi4flow {

struct TrainerSettings {
  int batch_size = 100;  ///< global batch
  std::uint32_t seed = 0;
  flow::GradientEstimator gradient = flow::GradientEstimator::total;
  AdamParams adam;
  LearningRateSchedule schedule;
};

/// Where a rank's training steps spent their time (steady clock, after fences): drawing the batch and its loss
/// and gradient; the all-reduce of the gradient (which includes waiting for slower ranks); the rest (mean, checks,
/// the Adam update).
struct StepTimes {
  std::int64_t steps = 0;
  double compute = 0.0, allreduce = 0.0, update = 0.0;
};

class Trainer {
 public:
  Trainer(flow::Model& model, const Phi4Action& action, const TrainerSettings& settings, Reducer& reducer, int rank,
          int n_ranks);

  /// \brief One optimisation step; returns the loss (1/B) sum_b [log q + S] of the global batch. If the loss or any
  /// gradient entry is not finite, the parameters stay as they were and the result is NaN.
  double step();

  /// \brief ESS = (sum w)^2 / (n sum w^2), w = exp(-S - log q), of n_samples fresh samples over all ranks,
  /// drawn from the evaluation stream `index` (the same index gives the same samples).
  double effective_sample_size(int n_samples, std::uint64_t index);

  std::int64_t steps_done() const { return adam_.updates(); }
  double learning_rate() const { return settings_.schedule(adam_.updates()); }
  Adam& optimizer() { return adam_; }
  /// \brief This rank's time in the steps taken by this object so far.
  const StepTimes& step_times() const { return times_; }

 private:
  flow::Model& model_;
  Phi4Action action_;
  TrainerSettings settings_;
  Reducer& reducer_;
  int first_sample_ = 0;  ///< global index of this rank's first sample in the batch
  int local_batch_ = 0;
  int rank_ = 0;
  int n_ranks_ = 1;
  Adam adam_;
  FieldBatch z_, phi_;
  BatchScalars log_q_, S_;
  flow::ParameterView grad_and_loss_;  ///< gradient, then the loss sum in the last entry: one all-reduce
  StepTimes times_;
};

}  // namespace phi4flow
