// Benchmark: seconds per training step (loss_and_gradient, total and path gradient) and per sample() of the
// equivariant flow with the paper's settings (A = 10, F = 9, 50 RK4 steps) for L = 6 ... 64 at batch 100 and 1000,
// with an estimate of the floating-point work of each and the rate achieved. Sizes predicted to take longer than
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
#include "phi4flow/parallel/environment.hpp"
#include "phi4flow/rng/philox.hpp"
#include "timing.hpp"

using namespace phi4flow;

namespace {

/// Floating-point work, counting a real L x L FFT as 2.5 N log2 N, a complex multiply-add as 8 and sin or
/// cos as 1 (the usual convention; their real cost is some 20 to 40 operations).
struct Work {
  double sample = 0.0;
  double train_step = 0.0;
};

Work estimate_work(int L, int batch, const flow::EquivariantFlowConfig& cfg) {
  const double n = double(L) * L, modes = L * (L / 2 + 1), fft = 2.5 * n * std::log2(n);
  const double nf = cfg.frequencies, S = cfg.steps;
  // One evaluation of g: nf sin and cos plus the divergence per site, nf forward FFTs and one inverse,
  // the k-space sum, an RK4 update.
  const double velocity = (nf + 1) * fft + 8 * nf * modes + n * (2 * nf + 3 * nf) + 4 * n;
  // The core of one VJP: sin and cos and ~15 operations per feature and site, one forward FFT (of the
  // cotangent) and nf inverse ones, the correlation (8) and convolution (6) products, the reductions.
  const double vjp = fft + nf * fft + 14 * nf * modes + n * (2 * nf + 15 * nf) + 2 * nf * n + 4 * n;
  // Features and their nf FFTs at the last stage's input, the one stage the recomputation does not cover.
  const double last_stage_features = nf * fft + n * (2 * nf + 3 * nf);
  Work w;
  w.sample = batch * 4 * S * velocity;
  // Forward, recomputation of three stages per step, four VJPs per step, then A * nf inverse FFTs.
  w.train_step =
      batch * (4 * S * velocity + 3 * S * velocity + S * (4 * vjp + last_stage_features)) + cfg.time_basis * nf * fft;
  return w;
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
  const double peak = bench::measured_peak_gflops();
  if (root) {
    std::printf("Equivariant flow, A = %d, F = %d, %d RK4 steps; Kokkos %s; FFT planning %s.\n", cfg.time_basis,
                cfg.frequencies, cfg.steps, ExecSpace::name(),
                cfg.fft_planning == flow::FftPlanning::measure ? "measure" : "estimate");
    std::printf("Work counts a real FFT as 2.5 N log2 N and sin/cos as 1; best of repeated calls.\n");
    std::printf("Measured FMA rate of this core: %.2f GFLOP/s; %%peak = achieved / that.\n\n", peak);
    std::printf(
        "Last two columns: the path-gradient step (train.gradient = path) with float sin/cos, the input\n"
        "files' training step, and its cost against the total-gradient step with float sin/cos.\n\n");
    std::printf("%4s %6s | %10s %12s %8s %6s | %10s %12s %8s | %12s %8s %12s %8s | %12s %8s\n", "L", "batch",
                "GFLOP/step", "s/train step", "GFLOP/s", "%peak", "GFLOP/smp", "s/sample", "GFLOP/s", "float s/step",
                "speed-up", "float s/smp", "speed-up", "path s/step", "vs total");
  }
  double rate = 0.0;  // last achieved training rate, to predict the next size's time
  for (int L : sizes)
    for (int batch : batches) {
      const Work work = estimate_work(L, batch, cfg);
      // Budget the warm-up and one timed call at least.
      if (rate > 0.0 && 2.0 * work.train_step / rate > budget) {
        if (root)
          std::printf("%4d %6d | %10.1f %12s %8s %6s | %10.1f %12s %8s   (skipped: ~%.0f s per step)\n", L, batch,
                      work.train_step / 1e9, "-", "-", "-", work.sample / 1e9, "-", "-", work.train_step / rate);
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
      rate = work.train_step / t_train;
      if (root)
        std::printf(
            "%4d %6d | %10.2f %12.4g %8.2f %5.0f%% | %10.2f %12.4g %8.2f | %12.4g %7.2fx %12.4g %7.2fx | %12.4g "
            "%7.2fx\n",
            L, batch, work.train_step / 1e9, t_train, work.train_step / t_train / 1e9,
            100.0 * work.train_step / t_train / 1e9 / peak, work.sample / 1e9, t_sample, work.sample / t_sample / 1e9,
            in_float.train_step, t_train / in_float.train_step, in_float.sample, t_sample / in_float.sample,
            in_float.path_step, in_float.path_step / in_float.train_step);
    }
  return 0;
}
