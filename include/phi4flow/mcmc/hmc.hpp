// Hybrid Monte Carlo for a batch of independent chains (one field per chain): leapfrog molecular dynamics
// with unit-mass Gaussian momenta and a Metropolis test on the energy violation in double precision.
#pragma once

#include <cstdint>

#include "phi4flow/rng/philox.hpp"
#include "phi4flow/physics/action.hpp"
#include "phi4flow/types.hpp"

namespace phi4flow {

struct HmcParams {
  double trajectory_length = 1.0;
  int leapfrog_steps = 10;
};

/// What one trajectory did to each chain of the batch.
struct TrajectoryResult {
  BatchScalars::HostMirror delta_H;                   ///< H(end) - H(start)
  Kokkos::View<int*, MemSpace>::HostMirror accepted;  ///< 1 if the proposal was accepted
};

class Hmc {
 public:
  /// \brief Chains first_chain .. first_chain + n_chains - 1 (global indices: they key the random streams).
  Hmc(const Phi4Action& action, const HmcParams& params, std::uint32_t seed, int first_chain, int n_chains);

  /// \brief Random start: phi(x) ~ N(0, 0.1^2) independently, keyed by chain.
  void initial_fields(const FieldBatch& phi) const;

  /// \brief One trajectory of every chain; `step` is the global trajectory index (keys momenta and test).
  /// The returned host Views are reused by the next call.
  TrajectoryResult trajectory(const FieldBatch& phi, std::uint64_t step);

  /// \brief Leapfrog integration of (phi, pi) over n steps of size eps; exposed for reversibility tests.
  void leapfrog(const FieldBatch& phi, const FieldBatch& pi, double eps, int n_steps);

  /// \brief H = S(phi) + |pi|^2 / 2 for every chain.
  void hamiltonian(const ConstFieldBatch& phi, const ConstFieldBatch& pi, const BatchScalars& H) const;

  const HmcParams& params() const { return params_; }

 private:
  Phi4Action action_;
  HmcParams params_;
  std::uint32_t seed_;
  int first_chain_;
  int n_chains_;
  FieldBatch pi_, phi_start_;
  BatchScalars H_start_, H_end_, delta_H_;
  Kokkos::View<int*, MemSpace> accepted_;
  TrajectoryResult result_;
};

}  // namespace phi4flow
