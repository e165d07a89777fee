// Benchmark: seconds per training step (loss_and_gradient, total and path gradient) and per sample() of the
// equivariant flow with the paper's settings (A = 10, F = 9, 50 RK4 steps) for L = 6 ... 64 at batch 100 and 1000,
// in double and in float (flow.precision), with an estimate of the floating-point work of each (sin and cos at
// their measured cost) and the rate achieved. Sizes predicted to take longer than
// --budget seconds (default 30) per call are skipped.
//   build/bench/bench_flow [--quick] [--measure] [--budget SECONDS]
#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "phi4flow/flow/equivariant_flow.hpp"
#if !defined(KOKKOS_ENABLE_CUDA)
#include "flow/vector_math.hpp"
#endif
#include "phi4flow/parallel/environment.hpp"
#include "phi4flow/rng/philox.hpp"
#include "timing.hpp"

using namespace phi4flow;

namespace {

/// Floating-point work of a call: arithmetic (a real FFT as 2.5 N log2 N, a complex multiply-add as 8) plus the
/// sin-and-cos pairs, which are counted at their measured cost (sincos_flops(): the FMA work the core could do in
/// the time of one pair) rather than as one operation.
struct Work {
  double flops = 0.0;
  double sincos = 0.0;
  double total(double flops_per_sincos) const { return flops + sincos * flops_per_sincos; }
};

struct StepWork {
  Work sample, train_step;
};

StepWork estimate_work(int L, int batch, const flow::EquivariantFlowConfig& cfg) {
  const double n = double(L) * L, modes = L * (L / 2 + 1), fft = 2.5 * n * std::log2(n);
  const double nf = cfg.frequencies, S = cfg.steps;
  // One evaluation of g: F sin-cos pairs and the divergence per site, nf forward FFTs and one inverse, the k-space
  // sum, an RK4 update.
  const Work velocity{(nf + 1) * fft + 8 * nf * modes + n * 3 * nf + 4 * n, n * nf};
  // The core of one VJP: sin and cos and ~15 operations per feature and site, one forward FFT (of the cotangent)
  // and nf inverse ones, the correlation (8) and convolution (6) products, the reductions.
  const Work vjp{fft + nf * fft + 14 * nf * modes + n * 15 * nf + 2 * nf * n + 4 * n, n * nf};
  // Features and their nf FFTs at the last stage's input, the one stage the recomputation does not cover.
  const Work last_stage{nf * fft + n * 3 * nf, n * nf};
  StepWork w;
  w.sample = {batch * 4 * S * velocity.flops, batch * 4 * S * velocity.sincos};
  // Forward, recomputation of three stages per step, four VJPs per step, then A * nf inverse FFTs.
  w.train_step = {batch * (7 * S * velocity.flops + S * (4 * vjp.flops + last_stage.flops)) +
                      cfg.time_basis * nf * fft,
                  batch * (7 * S * velocity.sincos + S * (4 * vjp.sincos + last_stage.sincos))};
  return w;
}

/// Seconds per sin-and-cos pair of the flow's kernels in Real, over arrays of 64 (their work item).
template <class Real>
double seconds_per_sincos() {
#if defined(KOKKOS_ENABLE_CUDA)
  return 0.0;  // on a GPU they are the device's own and not timed here
#else
  const int n = 64, calls = 1 << 14;
  std::vector<Real> x(n), s(n), c(n);
  for (int i = 0; i < n; ++i) x[i] = static_cast<Real>(0.37 * (i - 32));
  const double t = bench::seconds_per_call(
      [&] {
        for (int k = 0; k < calls; ++k) {
          flow::detail::sincos_array(x.data(), s.data(), c.data(), n);
          x[k % n] += s[(k + 7) % n] * Real(1e-6);  // a dependence, so the calls cannot be dropped
        }
      },
      0.2);
  return t / (double(calls) * n);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  Environment env(argc, argv);
  bool quick = false;
  double budget = 30.0;
  flow::EquivariantFlowConfig cfg;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else if (!std::strcmp(argv[i], "--measure"))
      cfg.fft_planning = flow::FftPlanning::measure;
    else if (!std::strcmp(argv[i], "--budget") && i + 1 < argc)
      budget = std::atof(argv[++i]);
  }
  if (quick) cfg.steps = 4;
  const std::vector<int> sizes = quick ? std::vector<int>{6, 12} : std::vector<int>{6, 12, 20, 32, 64};
  const std::vector<int> batches = quick ? std::vector<int>{10} : std::vector<int>{100, 1000};

  const bool root = env.rank() == 0;
  const double peak = bench::measured_peak_gflops<double>(), peak_float = bench::measured_peak_gflops<float>();
  // A sin-cos pair (timed on one thread) costs what one core could do in FMAs meanwhile.
  const double cores = ExecSpace().concurrency();
  const double sincos_flops = seconds_per_sincos<double>() * peak / cores * 1e9;
  const double sincos_flops_float = seconds_per_sincos<float>() * peak_float / cores * 1e9;
  if (root) {
    std::printf("Equivariant flow, A = %d, F = %d, %d RK4 steps; Kokkos %s; FFT planning %s.\n", cfg.time_basis,
                cfg.frequencies, cfg.steps, ExecSpace::name(),
                cfg.fft_planning == flow::FftPlanning::measure ? "measure" : "estimate");
    std::printf("Measured FMA rate of the %d core(s) Kokkos uses: %.1f GFLOP/s in double, %.1f in float; %%peak =\n"
                "achieved / that.\n",
                static_cast<int>(cores), peak, peak_float);
#if !defined(KOKKOS_ENABLE_CUDA)
    std::printf("A sin-cos pair (SLEEF, %s) costs %.2f ns in double = %.0f FLOP, %.2f ns in float = %.0f FLOP\n",
                flow::detail::sincos_isa_name(flow::detail::sincos_isa()), seconds_per_sincos<double>() * 1e9,
                sincos_flops, seconds_per_sincos<float>() * 1e9, sincos_flops_float);
#endif
    std::printf(
        "Work counts a real FFT as 2.5 N log2 N and each sin-cos pair at that cost; best of repeated calls.\n"
        "Columns: flow.precision = double, then single (float columns: speed-up over double), then the\n"
        "path-gradient step (train.gradient = path, the input files' estimator) in single against the total.\n\n");
    std::printf("%4s %6s | %10s %12s %8s %6s | %12s %8s | %12s %8s %6s %8s | %12s %8s | %12s %8s\n", "L",
                "batch", "GFLOP/step", "s/train step", "GFLOP/s", "%peak", "s/sample", "GFLOP/s", "float s/step",
                "GFLOP/s", "%peak", "speed-up", "float s/smp", "speed-up", "path s/step", "vs total");
  }
  double rate = 0.0;  // last achieved training rate, to predict the next size's time
  for (int L : sizes)
    for (int batch : batches) {
      const StepWork work = estimate_work(L, batch, cfg);
      const double train_flops = work.train_step.total(sincos_flops), sample_flops = work.sample.total(sincos_flops);
      // Budget the warm-up and one timed call at least.
      if (rate > 0.0 && 2.0 * train_flops / rate > budget) {
        if (root)
          std::printf("%4d %6d | %10.1f %12s %8s %6s |   (skipped: ~%.0f s per step)\n", L, batch, train_flops / 1e9,
                      "-", "-", "-", train_flops / rate);
        continue;
      }
      const Lattice lat(L);
      const Phi4Action action(lat, Couplings{-4.0, 5.0});
      auto time_with = [&](bool single) {
        flow::EquivariantFlowConfig variant = cfg;
        variant.single_precision = single;
        flow::EquivariantFlow model(lat, variant, 1);
        // Costs do not depend on the values; nonzero theta only keeps the fields from staying Gaussian.
        auto params = Kokkos::create_mirror_view_and_copy(HostSpace(), model.parameters());
        for (int i = 0; i < model.theta_size(); ++i) params(i) = 0.01 * std::sin(1.0 + i);
        Kokkos::deep_copy(model.parameters(), params);
        return bench::time_model(model, action, batch, quick ? 0.0 : 2.0, single);
      };
      const bench::ModelTiming in_double = time_with(false), in_float = time_with(true);
      const double t_train = in_double.train_step, t_sample = in_double.sample;
      const double float_flops = work.train_step.total(sincos_flops_float);
      rate = train_flops / t_train;
      if (root)
        std::printf(
            "%4d %6d | %10.2f %12.4g %8.2f %5.0f%% | %12.4g %8.2f | %12.4g %8.2f %5.0f%% %7.2fx | %12.4g %7.2fx | "
            "%12.4g %7.2fx\n",
            L, batch, train_flops / 1e9, t_train, train_flops / t_train / 1e9, 100.0 * train_flops / t_train / 1e9 / peak,
            t_sample, sample_flops / t_sample / 1e9, in_float.train_step, float_flops / in_float.train_step / 1e9,
            100.0 * float_flops / in_float.train_step / 1e9 / peak_float, t_train / in_float.train_step,
            in_float.sample, t_sample / in_float.sample, in_float.path_step, in_float.path_step / in_float.train_step);
    }
  return 0;
}
