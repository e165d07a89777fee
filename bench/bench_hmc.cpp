// Benchmark: action, force and HMC trajectories per second for L = 32, 64, 128 and a batch of fields, against
// the memory-bandwidth floor (bytes each kernel must move per site / measured copy bandwidth).
//   build/bench/bench_hmc [--quick]
#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "phi4flow/mcmc/hmc.hpp"
#include "phi4flow/parallel/environment.hpp"

using namespace phi4flow;

namespace {

struct Timing {
  double min = 1e300, mean = 0.0;
};

template <class Work>
Timing time_it(int repeats, Work&& work) {
  Timing t;
  work();  // warm-up
  Kokkos::fence();
  for (int r = 0; r < repeats; ++r) {
    Kokkos::Timer timer;
    work();
    Kokkos::fence();
    const double s = timer.seconds();
    t.min = std::min(t.min, s);
    t.mean += s / repeats;
  }
  return t;
}

/// Streaming copy bandwidth (bytes read + written per second) of a buffer much larger than the caches.
double copy_bandwidth(int repeats) {
  const std::size_t n = std::size_t{1} << 24;  // 128 MiB per buffer
  Kokkos::View<double*, MemSpace> a("a", n), b("b", n);
  Kokkos::deep_copy(a, 1.0);
  const Timing t = time_it(repeats, [&] { Kokkos::deep_copy(b, a); });
  return 2.0 * n * sizeof(double) / t.min;
}

}  // namespace

int main(int argc, char** argv) {
  Environment env(argc, argv);
  const bool quick = argc > 1 && !std::strcmp(argv[1], "--quick");
  const int repeats = quick ? 2 : 10;
  const double bandwidth = copy_bandwidth(repeats);
  if (env.rank() != 0) return 0;
  std::printf("Kokkos execution space: %s; copy bandwidth %.2f GB/s (read + write)\n", ExecSpace::name(),
              bandwidth / 1e9);
  std::printf(
      "Floors: action reads 8 B/site; force reads 8 and writes 8 B/site; a leapfrog step (fused force+kick, drift)"
      " moves 48 B/site.\n\n");
  std::printf("%5s %6s | %12s %8s | %12s %8s | %11s %11s %8s\n", "L", "batch", "action/s", "%floor", "force/s",
              "%floor", "traj/s", "sites*step/s", "%floor");
  const std::vector<int> sizes = quick ? std::vector<int>{32} : std::vector<int>{32, 64, 128};
  for (int L : sizes) {
    const int batch = std::max(1, (1 << 20) / (L * L));  // about 2^20 sites in flight
    const Lattice lattice(L);
    const Phi4Action action(lattice, Couplings{-4.0, 4.572});
    Hmc hmc(action, HmcParams{1.0, 10}, 1, 0, batch);
    FieldBatch phi("phi", batch, lattice.volume()), force("force", batch, lattice.volume());
    BatchScalars S("S", batch);
    hmc.initial_fields(phi);
    const double sites = static_cast<double>(batch) * lattice.volume();
    const Timing t_action = time_it(repeats, [&] { action.action(phi, S); });
    const Timing t_force = time_it(repeats, [&] { action.force(phi, force); });
    std::uint64_t step = 0;
    const Timing t_traj = time_it(quick ? 1 : 3, [&] { hmc.trajectory(phi, step++); });
    const double action_floor = 8.0 * sites / bandwidth, force_floor = 16.0 * sites / bandwidth;
    const double leapfrog_site_steps = sites * hmc.params().leapfrog_steps;
    const double traj_floor = 48.0 * leapfrog_site_steps / bandwidth;
    std::printf("%5d %6d | %12.4g %7.0f%% | %12.4g %7.0f%% | %11.4g %11.4g %7.0f%%\n", L, batch, batch / t_action.min,
                100 * action_floor / t_action.min, batch / t_force.min, 100 * force_floor / t_force.min,
                batch / t_traj.min, leapfrog_site_steps / t_traj.min, 100 * traj_floor / t_traj.min);
  }
  std::printf(
      "\n(action/s, force/s: field evaluations per second; traj/s: chain trajectories per second, "
      "10 leapfrog steps each; %%floor: bandwidth floor time / measured time)\n");
  return 0;
}
