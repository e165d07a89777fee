// HMC kernels: momentum refresh, leapfrog, Metropolis test and restore of rejected chains.
#include "phi4flow/mcmc/hmc.hpp"

#include <string>

#include "phi4flow/error.hpp"
#include "phi4flow/row_sums.hpp"

namespace phi4flow {

namespace {
// LayoutRight fields: the site index must run fastest on every backend (CUDA's default is the first index).
using Range2D = Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2, Kokkos::Iterate::Right, Kokkos::Iterate::Right>>;

Range2D whole(const FieldBatch& f) {
  return Range2D({0, 0}, {static_cast<int>(f.extent(0)), static_cast<int>(f.extent(1))});
}
}  // namespace

Hmc::Hmc(const Phi4Action& action, const HmcParams& params, std::uint32_t seed, int first_chain, int n_chains)
    : action_(action), params_(params), seed_(seed), first_chain_(first_chain), n_chains_(n_chains) {
  PHI4FLOW_CHECK(params.leapfrog_steps >= 1 && params.trajectory_length > 0.0, "invalid HMC parameters");
  const int n_sites = action.lattice().volume();
  pi_ = FieldBatch(uninitialized("phi4flow::Hmc::pi"), n_chains, n_sites);
  phi_start_ = FieldBatch(uninitialized("phi4flow::Hmc::phi_start"), n_chains, n_sites);
  H_start_ = BatchScalars(uninitialized("phi4flow::Hmc::H_start"), n_chains);
  H_end_ = BatchScalars(uninitialized("phi4flow::Hmc::H_end"), n_chains);
  delta_H_ = BatchScalars(uninitialized("phi4flow::Hmc::delta_H"), n_chains);
  accepted_ = Kokkos::View<int*, MemSpace>(uninitialized("phi4flow::Hmc::accepted"), n_chains);
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
  for_each_row_sum(
      "phi4flow::Hmc::kinetic", static_cast<int>(pi.extent(0)), n_sites,
      KOKKOS_LAMBDA(const int b, const int s, double& sum) { sum += pi(b, s) * pi(b, s); },
      KOKKOS_LAMBDA(const int b, const double kinetic) { H(b) += 0.5 * kinetic; });
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

void Hmc::trajectory(const FieldBatch& phi, std::uint64_t step) {
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
}

HmcSampler::HmcSampler(const Phi4Action& action, const HmcParams& params, std::uint32_t seed, int first_chain,
                       int n_chains)
    : hmc_(action, params, seed, first_chain, n_chains),
      phi_("phi4flow::HmcSampler::phi", n_chains, action.lattice().volume()),
      S_("phi4flow::HmcSampler::S", n_chains),
      accepted_total_("phi4flow::HmcSampler::accepted_total", n_chains),
      diverged_at_("phi4flow::HmcSampler::diverged_at") {
  Kokkos::deep_copy(diverged_at_, -1);
}

void HmcSampler::start() {
  hmc_.initial_fields(phi_);
}

void HmcSampler::restore(const ConstFieldBatch& phi, const ChainValues&) {
  Kokkos::deep_copy(phi_, phi);
}

void HmcSampler::save(const FieldBatch& phi, const ChainValues&) const {
  Kokkos::deep_copy(phi, phi_);
}

void HmcSampler::advance(std::int64_t step, std::int64_t) {
  hmc_.trajectory(phi_, static_cast<std::uint64_t>(step));
  const auto accepted = hmc_.accepted();
  const auto delta_H = hmc_.delta_H();
  const auto total = accepted_total_;
  const auto diverged_at = diverged_at_;
  Kokkos::parallel_for(
      "phi4flow::HmcSampler::count", Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(phi_.extent(0))),
      KOKKOS_LAMBDA(const int b) {
        total(b) += accepted(b);
        // inf - inf and NaN - NaN are NaN: true exactly for a non-finite dH. Concurrent writers write the same step.
        if (!(delta_H(b) - delta_H(b) == 0.0) && diverged_at() < 0) diverged_at() = step;
      });
  proposed_ += static_cast<long long>(phi_.extent(0));
}

BatchScalars HmcSampler::actions() {
  hmc_.action().action(phi_, S_);
  return S_;
}

void HmcSampler::record(const SamplerRecord& out) {
  const auto accepted = hmc_.accepted();
  const auto delta_H = hmc_.delta_H();
  const auto scalars = out.scalars;
  Kokkos::parallel_for(
      "phi4flow::HmcSampler::record", Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(phi_.extent(0))),
      KOKKOS_LAMBDA(const int b) {
        scalars(0, b) = accepted(b);
        scalars(1, b) = delta_H(b);
      });
}

AcceptanceCounts HmcSampler::acceptance() const {
  long long accepted = 0;
  const auto total = accepted_total_;
  Kokkos::parallel_reduce(
      "phi4flow::HmcSampler::acceptance", Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(total.extent(0))),
      KOKKOS_LAMBDA(const int b, long long& sum) { sum += total(b); }, accepted);
  return {accepted, proposed_};
}

std::string HmcSampler::failure() const {
  std::int64_t step = -1;
  Kokkos::deep_copy(step, diverged_at_);
  if (step < 0) return {};
  return "the energy violation dH of an HMC trajectory became non-finite at trajectory " + std::to_string(step) +
         ": the molecular dynamics diverged; lower the step size hmc.trajectory_length / hmc.leapfrog_steps "
         "(raise hmc.leapfrog_steps)";
}

}  // namespace phi4flow
