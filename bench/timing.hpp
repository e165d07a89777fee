// Shared by the benchmarks: best-of-repeats timing of a call, and the FMA rate of this machine's core as the
// yardstick for achieved GFLOP/s.
#pragma once

#include <Kokkos_Core.hpp>
#include <algorithm>

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

/// Floating-point rate this core reaches on independent fused multiply-adds (8 chains per element so the
/// pipeline stays full): the yardstick for the model's GFLOP/s.
inline double measured_peak_gflops() {
  const int n = 1 << 14, iterations = 2048;
  Kokkos::View<double*, MemSpace> out("out", n);
  const auto run = [&] {
    Kokkos::parallel_for(
        "phi4flow::bench::fma_peak", Kokkos::RangePolicy<ExecSpace>(0, n), KOKKOS_LAMBDA(const int i) {
          double x[8];
          for (int k = 0; k < 8; ++k) x[k] = 1e-3 * (i + k);
          for (int it = 0; it < iterations; ++it)
            for (int k = 0; k < 8; ++k) x[k] = x[k] * 0.999999 + 1e-7;
          double sum = 0.0;
          for (int k = 0; k < 8; ++k) sum += x[k];
          out(i) = sum;
        });
    Kokkos::fence();
  };
  const double t = seconds_per_call(run, 0.5);
  return 2.0 * 8 * iterations * static_cast<double>(n) / t / 1e9;
}

}  // namespace phi4flow::bench
