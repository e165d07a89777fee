// The one kernel pattern for a sum over the sites (or any n items) of every field of a batch: one team per
// field, its threads splitting the items, the team's sum handed to `finish`. Kernels that also write per-site
// results (features, couplings) do so inside `accumulate`.
#pragma once

#include <string>

#include "phi4flow/types.hpp"

namespace phi4flow {

/// \brief For every row b < rows: sum = sum over i < n of what accumulate(b, i, sum) adds, then finish(b, sum).
/// Both are device functors (KOKKOS_LAMBDA); accumulate adds to its third argument.
template <class Accumulate, class Finish>
void for_each_row_sum(const std::string& label, int rows, int n, const Accumulate& accumulate, const Finish& finish) {
  using Team = Kokkos::TeamPolicy<ExecSpace>::member_type;
  Kokkos::parallel_for(
      label, Kokkos::TeamPolicy<ExecSpace>(rows, Kokkos::AUTO), KOKKOS_LAMBDA(const Team& team) {
        const int b = team.league_rank();
        double sum = 0.0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, n), [&](const int i, double& partial) { accumulate(b, i, partial); }, sum);
        Kokkos::single(Kokkos::PerTeam(team), [&]() { finish(b, sum); });
      });
}

}  // namespace phi4flow
