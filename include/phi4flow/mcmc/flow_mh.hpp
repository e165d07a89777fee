// Independent Metropolis-Hastings with proposals from a flow (math.md Section 6, the paper's Algorithm 1): the
// proposals are independent of the chain, so a chain needs only the sequence of proposal log weights
// log w = -S - log q and one uniform coin per step. Plain host code: no files, no MPI, no flow; the sampler
// command draws the proposals and the coins and keeps the fields.
#pragma once

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace phi4flow {

/// \brief The independence Metropolis-Hastings test: accept iff u < exp(proposal_log_w - current_log_w), in
/// double precision from the log weights (the weights themselves overflow). u is uniform in (0, 1), so a
/// proposal at least as heavy as the current state is always accepted; a NaN proposal never is.
inline bool mh_accept(double current_log_w, double proposal_log_w, double u) {
  const double log_ratio = proposal_log_w - current_log_w;
  // Comparing in log space first keeps exp away from +inf (a chain without state has log w = -inf).
  return log_ratio >= 0.0 || u < std::exp(log_ratio);
}

/// One chain of independence Metropolis-Hastings: the log weight of its current state. A new chain has no state
/// (log w = -inf), so its first proposal is accepted whatever the coin.
class MhChain {
 public:
  MhChain() = default;
  /// \brief A chain continued from a state of log weight log_w (a resumed run).
  explicit MhChain(double log_w) : log_w_(log_w) {}

  /// \brief One step with a proposal of log weight proposal_log_w and coin u; true if the chain moved to it.
  bool step(double proposal_log_w, double u) {
    const bool accepted = mh_accept(log_w_, proposal_log_w, u);
    if (accepted) log_w_ = proposal_log_w;
    return accepted;
  }

  /// \brief Log weight of the current state (-inf before the first step).
  double log_w() const { return log_w_; }

 private:
  double log_w_ = -std::numeric_limits<double>::infinity();
};

/// \brief Run `chain` over a sequence of proposals and coins (equal lengths); returns, for every step, the index
/// of the proposal the chain holds after it (-1 while it holds none of them).
inline std::vector<long> run_chain(MhChain& chain, const std::vector<double>& proposal_log_w,
                                   const std::vector<double>& u) {
  std::vector<long> state(proposal_log_w.size());
  long held = -1;
  if (u.size() != proposal_log_w.size()) throw std::invalid_argument("run_chain: one coin per proposal");
  for (std::size_t i = 0; i < proposal_log_w.size(); ++i) {
    if (chain.step(proposal_log_w[i], u[i])) held = static_cast<long>(i);
    state[i] = held;
  }
  return state;
}

}  // namespace phi4flow
