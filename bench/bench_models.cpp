// Benchmark: the paper's two models side by side, as they are trained and sampled: seconds per training step
// (loss and gradient, batch 100) and per 1000 proposals (sample() in batches of 100) for the equivariant flow
// (A = 10, F = 9, 54 RK4 steps) and RealNVP (16 coupling layers, 2 hidden 3x3 convolutions of 8 channels) at
// L = 6, 12, 20, 32, with RealNVP's floating-point work and rate.
//   build/bench/bench_models [--quick]
#include <Kokkos_Core.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "phi4flow/flow/equivariant_flow.hpp"
#include "phi4flow/flow/real_nvp.hpp"
#include "phi4flow/parallel/environment.hpp"
#include "phi4flow/rng/philox.hpp"
#include "timing.hpp"

using namespace phi4flow;

namespace {

/// RealNVP's multiply-adds per site and sample in one pass through all coupling networks.
double real_nvp_fma_per_site(const flow::RealNvp& model) {
  double fma = 0.0;
  const auto& cfg = model.config();
  for (int l = 0; l < cfg.coupling_layers; ++l)
    for (int c = 0; c <= cfg.hidden_layers; ++c) {
      const flow::ConvShape& s = model.conv(l, c);
      fma += double(s.in_channels) * s.out_channels * s.kernel_size * s.kernel_size;
    }
  return fma;
}

}  // namespace

int main(int argc, char** argv) {
  Environment env(argc, argv);
  const bool quick = argc > 1 && !std::strcmp(argv[1], "--quick");
  const std::vector<int> sizes = quick ? std::vector<int>{6} : std::vector<int>{6, 12, 20, 32};
  const int batch = quick ? 10 : 100;
  flow::EquivariantFlowConfig cnf_config;
  cnf_config.steps = quick ? 4 : 54;
  flow::RealNvpConfig nvp_config;
  if (quick) nvp_config.coupling_layers = 2;

  const bool root = env.rank() == 0;
  const double peak = bench::measured_peak_gflops();
  if (root) {
    std::printf("Equivariant flow (A = %d, F = %d, %d RK4 steps) and RealNVP (%d coupling layers, %d hidden convolutions "
                "of %d channels, %dx%d kernels); batch %d; Kokkos %s; best of repeated calls.\n",
                cnf_config.time_basis, cnf_config.frequencies, cnf_config.steps, nvp_config.coupling_layers,
                nvp_config.hidden_layers, nvp_config.hidden_channels, nvp_config.kernel_size, nvp_config.kernel_size,
                batch, ExecSpace::name());
    std::printf("RealNVP work: 2 flops per multiply-add of the convolutions; a training step runs the networks four "
                "times (forward, recomputation, input and weight gradients). FMA rate of this core: %.2f GFLOP/s.\n\n",
                peak);
    std::printf("%4s | %12s %12s | %12s %12s %8s %6s | %12s %12s\n", "L", "CNF s/step", "CNF s/1000p", "NVP s/step",
                "NVP s/1000p", "GFLOP/s", "%peak", "step ratio", "1000p ratio");
  }
  for (int L : sizes) {
    const Lattice lat(L);
    flow::EquivariantFlow cnf(lat, cnf_config, 1);
    // Costs do not depend on the values; nonzero theta only keeps the fields from staying Gaussian.
    auto params = Kokkos::create_mirror_view_and_copy(HostSpace(), cnf.parameters());
    for (int i = 0; i < cnf.theta_size(); ++i) params(i) = 0.01 * std::sin(1.0 + i);
    Kokkos::deep_copy(cnf.parameters(), params);
    flow::RealNvp nvp(lat, nvp_config, 1);
    const Phi4Action action(lat, Couplings{-4.0, 5.0});
    const double min_total = quick ? 0.0 : 2.0;
    const bench::ModelTiming c = bench::time_model(cnf, action, batch, min_total);
    const bench::ModelTiming n = bench::time_model(nvp, action, batch, min_total);
    const double c_per_1000 = c.sample * 1000.0 / batch, n_per_1000 = n.sample * 1000.0 / batch;
    const double nvp_flops = 4.0 * 2.0 * real_nvp_fma_per_site(nvp) * lat.volume() * batch;
    if (root)
      std::printf("%4d | %12.4g %12.4g | %12.4g %12.4g %8.2f %5.0f%% | %12.2f %12.2f\n", L, c.train_step, c_per_1000,
                  n.train_step, n_per_1000, nvp_flops / n.train_step / 1e9, 100.0 * nvp_flops / n.train_step / 1e9 / peak,
                  n.train_step / c.train_step, n_per_1000 / c_per_1000);
  }
  return 0;
}
