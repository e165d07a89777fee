// Adam (Kingma and Ba) on a flat parameter buffer, and the learning-rate schedules of the training loop.
#pragma once

#include <cstdint>
#include <string>

#include "phi4flow/types.hpp"

namespace phi4flow {

/// lr(step): constant; "step" (lr, then lr * step_factor from step_at on: the paper's 1e-3 -> 1e-4 at 250);
/// "exponential" (lr * 10^(-step / decade_steps)). With warmup_steps > 0, step k < warmup_steps takes
/// (k + 1) / warmup_steps of that: Adam's first updates move every parameter by about lr whatever its gradient,
/// which would knock a model that starts trained (train.init_from) off its optimum.
struct LearningRateSchedule {
  std::string kind = "exponential";
  double lr = 5e-3;
  int step_at = 250;
  double step_factor = 0.1;
  int decade_steps = 4000;
  int warmup_steps = 0;

  /// \brief Learning rate of optimisation step `step` (counted from 0).
  double operator()(std::int64_t step) const;
};

struct AdamParams {
  double beta1 = 0.8;
  double beta2 = 0.9;
  double epsilon = 1e-8;
};

class Adam {
 public:
  Adam(int n_params, const AdamParams& params);

  /// \brief One update of `parameters` with gradient `grad` and learning rate lr; identical on every rank
  /// given identical inputs.
  void step(const Kokkos::View<real_t*, MemSpace>& parameters, const Kokkos::View<const real_t*, MemSpace>& grad,
            double lr);

  /// First and second moments and the number of updates so far: everything a checkpoint must keep.
  Kokkos::View<real_t*, MemSpace> first_moment() const { return m_; }
  Kokkos::View<real_t*, MemSpace> second_moment() const { return v_; }
  std::int64_t updates() const { return updates_; }
  void set_updates(std::int64_t updates) { updates_ = updates; }

 private:
  AdamParams params_;
  Kokkos::View<real_t*, MemSpace> m_, v_;
  std::int64_t updates_ = 0;
};

}  // namespace phi4flow
