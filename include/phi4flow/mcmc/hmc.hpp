// Hybrid Monte Carlo for a batch of independent chains (one field per chain): leapfrog molecular dynamics
// with unit-mass Gaussian momenta and a Metropolis test on the energy violation in double precision.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phi4flow/mcmc/sampler.hpp"
#include "phi4flow/rng/philox.hpp"
#include "phi4flow/physics/action.hpp"
#include "phi4flow/types.hpp"

namespace phi4flow {

struct HmcParams {
  double trajectory_length = 1.0;
  int leapfrog_steps = 10;
};

class Hmc {
 public:
  /// \brief Chains first_chain .. first_chain + n_chains - 1 (global indices: they key the random streams).
  Hmc(const Phi4Action& action, const HmcParams& params, std::uint32_t seed, int first_chain, int n_chains);

  /// \brief Random start: phi(x) ~ N(0, 0.1^2) independently, keyed by chain.
  void initial_fields(const FieldBatch& phi) const;

  /// \brief One trajectory of every chain; `step` is the global trajectory index (keys momenta and test).
  void trajectory(const FieldBatch& phi, std::uint64_t step);
  /// \brief What the last trajectory did to each chain: H(end) - H(start), and 1 if it was accepted.
  const BatchScalars& delta_H() const { return delta_H_; }
  const Kokkos::View<int*, MemSpace>& accepted() const { return accepted_; }

  /// \brief Leapfrog integration of (phi, pi) over n steps of size eps; exposed for reversibility tests.
  void leapfrog(const FieldBatch& phi, const FieldBatch& pi, double eps, int n_steps);

  /// \brief H = S(phi) + |pi|^2 / 2 for every chain.
  void hamiltonian(const ConstFieldBatch& phi, const ConstFieldBatch& pi, const BatchScalars& H) const;

  const HmcParams& params() const { return params_; }
  const Phi4Action& action() const { return action_; }

 private:
  Phi4Action action_;
  HmcParams params_;
  std::uint32_t seed_;
  int first_chain_;
  int n_chains_;
  FieldBatch pi_, phi_start_;
  BatchScalars H_start_, H_end_, delta_H_;
  Kokkos::View<int*, MemSpace> accepted_;
};

/// HMC behind the Sampler interface: the chains' fields, their acceptance counts and the first trajectory whose
/// energy violation was not finite, all on the device.
class HmcSampler final : public Sampler {
 public:
  HmcSampler(const Phi4Action& action, const HmcParams& params, std::uint32_t seed, int first_chain, int n_chains);

  std::vector<std::string> record_scalars() const override { return {"accepted", "dH"}; }
  void start() override;
  void restore(const ConstFieldBatch& phi, const ChainValues& values) override;
  void save(const FieldBatch& phi, const ChainValues& values) const override;
  void advance(std::int64_t step, std::int64_t steps_left) override;
  ConstFieldBatch fields() const override { return phi_; }
  BatchScalars actions() override;
  void record(const SamplerRecord& out) override;
  AcceptanceCounts acceptance() const override;
  std::string failure() const override;

 private:
  Hmc hmc_;
  FieldBatch phi_;
  BatchScalars S_;
  Kokkos::View<long long*, MemSpace> accepted_total_;
  Kokkos::View<std::int64_t, MemSpace> diverged_at_;  // first trajectory with a non-finite dH, or -1
  long long proposed_ = 0;
};

}  // namespace phi4flow
