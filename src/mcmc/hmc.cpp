// HMC kernels: momentum refresh, leapfrog, Metropolis test and restore of rejected chains.
#include "phi4flow/mcmc/hmc.hpp"

#include <string>

#include "phi4flow/error.hpp"

namespace phi4flow {

namespace {
using Range2D = Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>;

Range2D whole(const FieldBatch& f) {
  return Range2D({0, 0}, {static_cast<int>(f.extent(0)), static_cast<int>(f.extent(1))});
}
}  // namespace

Hmc::Hmc(const Phi4Action& action, const HmcParams& params, std::uint32_t seed, int first_chain, int n_chains)
    : action_(action), params_(params), seed_(seed), first_chain_(first_chain), n_chains_(n_chains) {
  PHI4FLOW_CHECK(params.leapfrog_steps >= 1 && params.trajectory_length > 0.0, "invalid HMC parameters");
  const int n_sites = action.lattice().volume();
  const auto uninit = [](const std::string& label) { return Kokkos::view_alloc(Kokkos::WithoutInitializing, label); };
  pi_ = FieldBatch(uninit("phi4flow::Hmc::pi"), n_chains, n_sites);
  phi_start_ = FieldBatch(uninit("phi4flow::Hmc::phi_start"), n_chains, n_sites);
  H_start_ = BatchScalars(uninit("phi4flow::Hmc::H_start"), n_chains);
  H_end_ = BatchScalars(uninit("phi4flow::Hmc::H_end"), n_chains);
  delta_H_ = BatchScalars(uninit("phi4flow::Hmc::delta_H"), n_chains);
  accepted_ = Kokkos::View<int*, MemSpace>(uninit("phi4flow::Hmc::accepted"), n_chains);
  result_ = {Kokkos::create_mirror_view(delta_H_), Kokkos::create_mirror_view(accepted_)};
}

void Hmc::initial_fields(const FieldBatch& phi) const {
  rng::fill_normal(rng::Philox(seed_, rng::Purpose::hmc_start), first_chain_, 0, phi);
  // A small amplitude: large phi^4 forces of a wide random start can make the first trajectories diverge.
  constexpr double amplitude = 0.1;
  Kokkos::parallel_for(
      "phi4flow::Hmc::initial_fields", whole(phi), KOKKOS_LAMBDA(const int b, const int s) { phi(b, s) *= amplitude; });
}

void Hmc::hamiltonian(const ConstFieldBatch& phi, const ConstFieldBatch& pi, const BatchScalars& H) const {
  action_.action(phi, H);
  const int n_sites = static_cast<int>(pi.extent(1));
  using Team = Kokkos::TeamPolicy<ExecSpace>::member_type;
  Kokkos::parallel_for(
      "phi4flow::Hmc::kinetic", Kokkos::TeamPolicy<ExecSpace>(static_cast<int>(pi.extent(0)), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& team) {
        const int b = team.league_rank();
        double kinetic = 0.0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, n_sites), [&](const int s, double& sum) { sum += pi(b, s) * pi(b, s); },
            kinetic);
        Kokkos::single(Kokkos::PerTeam(team), [&]() { H(b) += 0.5 * kinetic; });
      });
}

void Hmc::leapfrog(const FieldBatch& phi, const FieldBatch& pi, double eps, int n_steps) {
  const auto kick = [&](double h) { action_.accumulate_force(phi, -h, pi); };
  const auto drift = [&](double h) {
    Kokkos::parallel_for(
        "phi4flow::Hmc::drift", whole(phi), KOKKOS_LAMBDA(const int b, const int s) { phi(b, s) += h * pi(b, s); });
  };
  kick(0.5 * eps);
  for (int i = 0; i < n_steps; ++i) {
    drift(eps);
    kick(i + 1 < n_steps ? eps : 0.5 * eps);
  }
}

TrajectoryResult Hmc::trajectory(const FieldBatch& phi, std::uint64_t step) {
  PHI4FLOW_CHECK(static_cast<int>(phi.extent(0)) == n_chains_, "batch size differs from the number of chains");
  rng::fill_normal(rng::Philox(seed_, rng::Purpose::hmc_momentum), first_chain_, step, pi_);
  Kokkos::deep_copy(phi_start_, phi);
  hamiltonian(phi, pi_, H_start_);
  leapfrog(phi, pi_, params_.trajectory_length / params_.leapfrog_steps, params_.leapfrog_steps);
  hamiltonian(phi, pi_, H_end_);

  const rng::Philox coin(seed_, rng::Purpose::hmc_accept);
  const auto H_start = H_start_;
  const auto H_end = H_end_;
  const auto delta_H = delta_H_;
  const auto accepted = accepted_;
  const int first = first_chain_;
  Kokkos::parallel_for(
      "phi4flow::Hmc::metropolis", Kokkos::RangePolicy<ExecSpace>(0, n_chains_), KOKKOS_LAMBDA(const int b) {
        const double dH = H_end(b) - H_start(b);
        delta_H(b) = dH;
        const double u = coin.uniform(static_cast<std::uint32_t>(first + b), step, 0);
        accepted(b) = (dH <= 0.0 || u < kmath::exp(-dH)) ? 1 : 0;
      });
  const auto phi_start = phi_start_;
  Kokkos::parallel_for(
      "phi4flow::Hmc::restore_rejected", whole(phi), KOKKOS_LAMBDA(const int b, const int s) {
        if (!accepted(b)) phi(b, s) = phi_start(b, s);
      });

  Kokkos::deep_copy(result_.delta_H, delta_H_);
  Kokkos::deep_copy(result_.accepted, accepted_);
  return result_;
}

}  // namespace phi4flow
