// Independent Metropolis-Hastings with proposals from a flow (the paper's Algorithm 1; docs/flow.md): the
// proposals are independent of the chain, so a chain needs only the log weights log w = -S - log q of its state
// and of each proposal, and one uniform coin per step.
//
// Every proposal is keyed by (seed, mh_proposal, global chain, MH step) and every coin by (seed, mh_accept,
// global chain, MH step): proposals are drawn in batches of a fixed size, but a proposal does not depend on which
// batch it was drawn in, so the chains depend neither on the batch size nor on the number of ranks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phi4flow/flow/model.hpp"
#include "phi4flow/mcmc/sampler.hpp"
#include "phi4flow/physics/action.hpp"
#include "phi4flow/physics/observables.hpp"
#include "phi4flow/rng/philox.hpp"

namespace phi4flow {

/// \brief The independence Metropolis-Hastings test: accept iff u < exp(proposal_log_w - current_log_w), in
/// double precision from the log weights (the weights themselves overflow). u is uniform in (0, 1), so a
/// proposal at least as heavy as the current state is always accepted; a NaN proposal never is.
KOKKOS_INLINE_FUNCTION bool mh_accept(double current_log_w, double proposal_log_w, double u) {
  const double log_ratio = proposal_log_w - current_log_w;
  // Comparing in log space first keeps exp away from +inf (a chain without state has log w = -inf).
  return log_ratio >= 0.0 || u < kmath::exp(log_ratio);
}

/// Flow Metropolis-Hastings chains behind the Sampler interface. Proposals are drawn ahead, `round` MH steps of
/// every chain at a time, in model batches of `batch` pairs (chain, step); a short last batch is padded with
/// repeats of its last pair. Chain states, proposals and coins stay on the device.
class FlowMhSampler final : public Sampler {
 public:
  FlowMhSampler(flow::Model& model, const Phi4Action& action, std::uint32_t seed, int first_chain, int n_chains,
                int batch);

  /// Per-record series: the MH decision and the state's log q, S, log w; then the step's raw proposal, its field
  /// observables, log q, S and log w (what analyze reweights), and its slice correlator proposal_Gc.
  std::vector<std::string> record_scalars() const override;
  std::vector<std::string> record_vectors() const override { return {"proposal_Gc"}; }
  /// The exact log q of a resumed chain's state (integrating the flow backwards would not reproduce it bit for bit).
  std::vector<std::string> state_values() const override { return {"log_q", "S", "log_w"}; }

  void start() override;
  void restore(const ConstFieldBatch& phi, const ChainValues& values) override;
  void save(const FieldBatch& phi, const ChainValues& values) const override;
  void advance(std::int64_t step, std::int64_t steps_left) override;
  ConstFieldBatch fields() const override { return phi_; }
  BatchScalars actions() override { return S_; }
  void record(const SamplerRecord& out) override;
  AcceptanceCounts acceptance() const override;

 private:
  void draw_round(std::int64_t first_step, int steps);

  flow::Model& model_;
  Phi4Action action_;
  ObservableMeter meter_;
  rng::Philox proposal_gen_, coin_;
  int first_chain_, chains_, round_;
  std::int64_t round_first_step_ = 0;
  int round_steps_ = 0, step_in_round_ = -1;
  long long proposed_ = 0;
  FieldBatch phi_;                                  // [chain][site] current states
  BatchScalars log_q_, S_, log_w_;                  // [chain] of the current states
  Kokkos::View<int*, MemSpace> accepted_;           // [chain] this step's decision
  Kokkos::View<long long*, MemSpace> accepted_total_;
  FieldBatch round_phi_;                            // [step in round * chains + chain][site] proposals
  BatchScalars round_log_q_, round_S_;
  Kokkos::View<std::uint32_t*, MemSpace> streams_;  // [batch] the (chain, step) key of each batch row
  Kokkos::View<std::uint64_t*, MemSpace> steps_;
  FieldBatch z_, batch_phi_;
  BatchScalars batch_log_q_, batch_S_;
};

}  // namespace phi4flow
