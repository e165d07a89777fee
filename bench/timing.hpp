// Shared by the benchmarks: best-of-repeats timing of a call and of a model's training step and sampling, and the
// FMA rate of this machine's core as the yardstick for achieved GFLOP/s.
#pragma once

#include <Kokkos_Core.hpp>
#include <algorithm>

#include "phi4flow/flow/model.hpp"
#include "phi4flow/rng/philox.hpp"
#include "phi4flow/physics/action.hpp"
#include "phi4flow/types.hpp"

namespace phi4flow::bench {

/// Best time of repeated calls after a warm-up, repeating until min_total seconds (at most 10 calls).
template <class Call>
double seconds_per_call(Call&& call, double min_total) {
  call();  // warm-up: plans, scratch allocation
  Kokkos::fence();
  double best = 1e300, total = 0.0;
  int repeats = 0;
  do {
    Kokkos::Timer timer;
    call();
    Kokkos::fence();
    const double s = timer.seconds();
    best = std::min(best, s);
    total += s;
    ++repeats;
  } while (total < min_total && repeats < 10);
  return best;
}

/// Floating-point rate this core reaches on independent fused multiply-adds in Real (64 independent chains per
/// element, enough to fill every vector FMA pipeline of AVX-512 in double; 128 in float): the yardstick for the
/// model's GFLOP/s.
template <class Real = double>
double measured_peak_gflops() {
  constexpr int chains = 512 / sizeof(Real);
  const int n = 1 << 10, iterations = 2048;
  Kokkos::View<Real*, MemSpace> out("out", n);
  const auto run = [&] {
    Kokkos::parallel_for(
        "phi4flow::bench::fma_peak", Kokkos::RangePolicy<ExecSpace>(0, n), KOKKOS_LAMBDA(const int i) {
          Real x[chains];
          for (int k = 0; k < chains; ++k) x[k] = Real(1e-3) * (i + k);
          for (int it = 0; it < iterations; ++it)
            for (int k = 0; k < chains; ++k) x[k] = x[k] * Real(0.999999) + Real(1e-7);
          Real sum = 0;
          for (int k = 0; k < chains; ++k) sum += x[k];
          out(i) = sum;
        });
    Kokkos::fence();
  };
  const double t = seconds_per_call(run, 0.5);
  return 2.0 * chains * iterations * static_cast<double>(n) / t / 1e9;
}

struct ModelTiming {
  double train_step;  ///< seconds per loss_and_gradient(), total-gradient estimator
  double path_step;   ///< seconds per loss_and_gradient() with the path estimator; 0 unless asked for
  double sample;      ///< seconds per sample() of the same batch
};

/// \brief Best-of-repeats seconds of one training step (also with the path estimator if asked) and one sample()
/// call of `model` for a batch of latent fields (each repeated until min_total seconds).
inline ModelTiming time_model(flow::Model& model, const Phi4Action& action, int batch, double min_total,
                              bool time_path_gradient = false) {
  const int sites = action.lattice().volume();
  FieldBatch z(Kokkos::view_alloc(Kokkos::WithoutInitializing, "z"), batch, sites);
  FieldBatch phi(Kokkos::view_alloc(Kokkos::WithoutInitializing, "phi"), batch, sites);
  BatchScalars log_q(Kokkos::view_alloc(Kokkos::WithoutInitializing, "log_q"), batch);
  flow::ParameterView grad(Kokkos::view_alloc(Kokkos::WithoutInitializing, "grad"), model.parameters().extent(0));
  rng::fill_normal(rng::Philox(1, rng::Purpose::flow_latent), 0, 0, z);
  const double train = seconds_per_call([&] { model.loss_and_gradient(z, action, grad); }, min_total);
  const double path =
      time_path_gradient && model.has_path_gradient()
          ? seconds_per_call([&] { model.loss_and_gradient(z, action, grad, flow::GradientEstimator::path); },
                             min_total)
          : 0.0;
  const double sample = seconds_per_call([&] { model.sample(z, phi, log_q); }, min_total);
  return {train, path, sample};
}

}  // namespace phi4flow::bench
