// Adam update kernel and learning-rate schedules.
#include "phi4flow/train/adam.hpp"

#include <cmath>

namespace phi4flow {

double LearningRateSchedule::operator()(std::int64_t step) const {
  const double warmup = step < warmup_steps ? static_cast<double>(step + 1) / warmup_steps : 1.0;
  if (kind == "step") return warmup * (step < step_at ? lr : lr * step_factor);
  if (kind == "exponential") return warmup * lr * std::pow(10.0, -static_cast<double>(step) / decade_steps);
  return warmup * lr;
}

Adam::Adam(int n_params, const AdamParams& params)
    : params_(params), m_("phi4flow::Adam::m", n_params), v_("phi4flow::Adam::v", n_params) {}

void Adam::step(const Kokkos::View<real_t*, MemSpace>& parameters, const Kokkos::View<const real_t*, MemSpace>& grad,
                double lr) {
  ++updates_;
  const double b1 = params_.beta1, b2 = params_.beta2, eps = params_.epsilon;
  const double correction1 = 1.0 - std::pow(b1, static_cast<double>(updates_));
  const double correction2 = 1.0 - std::pow(b2, static_cast<double>(updates_));
  const auto m = m_;
  const auto v = v_;
  Kokkos::parallel_for(
      "phi4flow::Adam::step", Kokkos::RangePolicy<ExecSpace>(0, parameters.extent(0)), KOKKOS_LAMBDA(const int i) {
        const double g = grad(i);
        m(i) = b1 * m(i) + (1.0 - b1) * g;
        v(i) = b2 * v(i) + (1.0 - b2) * g * g;
        parameters(i) -= lr * (m(i) / correction1) / (kmath::sqrt(v(i) / correction2) + eps);
      });
}

}  // namespace phi4flow
