// Kokkos kernels for the phi^4 action and force.
#include "phi4flow/physics/action.hpp"

#include <string>

#include "phi4flow/error.hpp"

namespace phi4flow {

Phi4Action::Phi4Action(const Lattice& lattice, const Couplings& couplings) : lattice_(lattice), couplings_(couplings) {
  if (!(couplings.lam >= 0.0)) {
    throw InputError("action.lam = " + std::to_string(couplings.lam) +
                     " makes the action unbounded below: use lam >= 0");
  }
  if (couplings.lam == 0.0 && !(couplings.m2 > 0.0)) {
    throw InputError("action.m2 = " + std::to_string(couplings.m2) +
                     " with lam = 0 makes the free field unstable: use m2 > 0 or lam > 0");
  }
}

void Phi4Action::action(const ConstFieldBatch& phi, const BatchScalars& S) const {
  const int L = lattice_.extent();
  const Couplings c = couplings_;
  using Team = Kokkos::TeamPolicy<ExecSpace>::member_type;
  Kokkos::parallel_for(
      "phi4flow::Phi4Action::action", Kokkos::TeamPolicy<ExecSpace>(static_cast<int>(phi.extent(0)), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& team) {
        const int b = team.league_rank();
        double sum = 0.0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, L),
            [&](const int x1, double& partial) {
              for (int x2 = 0; x2 < L; ++x2) partial += site_action(L, c, phi, b, x1, x2);
            },
            sum);
        Kokkos::single(Kokkos::PerTeam(team), [&]() { S(b) = sum; });
      });
}

void Phi4Action::force(const ConstFieldBatch& phi, const FieldBatch& dS) const {
  const int L = lattice_.extent();
  const Couplings c = couplings_;
  Kokkos::parallel_for(
      "phi4flow::Phi4Action::force",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3>>({0, 0, 0}, {static_cast<int>(phi.extent(0)), L, L}),
      KOKKOS_LAMBDA(const int b, const int x1, const int x2) {
        dS(b, x1 * L + x2) = site_force(L, c, phi, b, x1, x2);
      });
}

void Phi4Action::accumulate_force(const ConstFieldBatch& phi, double scale, const FieldBatch& out) const {
  const int L = lattice_.extent();
  const Couplings c = couplings_;
  Kokkos::parallel_for(
      "phi4flow::Phi4Action::accumulate_force",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3>>({0, 0, 0}, {static_cast<int>(phi.extent(0)), L, L}),
      KOKKOS_LAMBDA(const int b, const int x1, const int x2) {
        out(b, x1 * L + x2) += scale * site_force(L, c, phi, b, x1, x2);
      });
}

}  // namespace phi4flow
