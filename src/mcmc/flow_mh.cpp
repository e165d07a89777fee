// Flow Metropolis-Hastings on the device: proposals drawn in rounds, one kernel per MH step for all chains.
#include "phi4flow/mcmc/flow_mh.hpp"

#include <algorithm>
#include <limits>

#include "phi4flow/error.hpp"

namespace phi4flow {

namespace {
template <class T>
Kokkos::View<T*, MemSpace> vector_view(const std::string& label, int n) {
  return Kokkos::View<T*, MemSpace>("phi4flow::FlowMhSampler::" + label, n);
}
}  // namespace

// Kernels of the private draw_round, as free functions: nvcc rejects device lambdas in private member functions
// and in functions with internal linkage.
namespace detail {

/// Row b < batch of a model batch gets the key (global chain, MH step) of pair first + b (pairs past the n real
/// ones repeat the last): pair i = k * chains + c is chain c's proposal for step first_step + k.
void key_pairs(const Kokkos::View<std::uint32_t*, MemSpace>& streams, const Kokkos::View<std::uint64_t*, MemSpace>& steps,
               int first, int n, int chains, int first_chain, std::int64_t first_step) {
  Kokkos::parallel_for(
      "phi4flow::FlowMhSampler::keys", Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(streams.extent(0))),
      KOKKOS_LAMBDA(const int b) {
        const int i = first + (b < n ? b : n - 1);
        streams(b) = static_cast<std::uint32_t>(first_chain + i % chains);
        steps(b) = static_cast<std::uint64_t>(first_step + i / chains);
      });
}

/// Rows b < n of a model batch (fields, log q, S) become rows first + b of the round.
void keep_rows(const ConstFieldBatch& batch_phi, const ConstBatchScalars& batch_log_q, const ConstBatchScalars& batch_S,
               int first, int n, const FieldBatch& round_phi, const BatchScalars& round_log_q,
               const BatchScalars& round_S) {
  const int sites = static_cast<int>(batch_phi.extent(1));
  Kokkos::parallel_for(
      "phi4flow::FlowMhSampler::keep", Kokkos::RangePolicy<ExecSpace>(0, n * sites), KOKKOS_LAMBDA(const int j) {
        const int b = j / sites, s = j % sites;
        round_phi(first + b, s) = batch_phi(b, s);
        if (s == 0) {
          round_log_q(first + b) = batch_log_q(b);
          round_S(first + b) = batch_S(b);
        }
      });
}

}  // namespace detail

FlowMhSampler::FlowMhSampler(flow::Model& model, const Phi4Action& action, std::uint32_t seed, int first_chain,
                             int n_chains, int batch)
    : model_(model),
      action_(action),
      meter_(action.lattice(), n_chains),
      proposal_gen_(seed, rng::Purpose::mh_proposal),
      coin_(seed, rng::Purpose::mh_accept),
      first_chain_(first_chain),
      chains_(n_chains),
      round_(std::max(1, batch / n_chains)) {
  PHI4FLOW_CHECK(n_chains >= 1 && batch >= 1, "FlowMhSampler: needs at least one chain and a batch of one");
  const int sites = action.lattice().volume();
  phi_ = FieldBatch("phi4flow::FlowMhSampler::phi", n_chains, sites);
  log_q_ = vector_view<real_t>("log_q", n_chains);
  S_ = vector_view<real_t>("S", n_chains);
  log_w_ = vector_view<real_t>("log_w", n_chains);
  accepted_ = vector_view<int>("accepted", n_chains);
  accepted_total_ = vector_view<long long>("accepted_total", n_chains);
  round_phi_ = FieldBatch("phi4flow::FlowMhSampler::round_phi", round_ * n_chains, sites);
  round_log_q_ = vector_view<real_t>("round_log_q", round_ * n_chains);
  round_S_ = vector_view<real_t>("round_S", round_ * n_chains);
  streams_ = vector_view<std::uint32_t>("streams", batch);
  steps_ = vector_view<std::uint64_t>("steps", batch);
  z_ = FieldBatch("phi4flow::FlowMhSampler::z", batch, sites);
  batch_phi_ = FieldBatch("phi4flow::FlowMhSampler::batch_phi", batch, sites);
  batch_log_q_ = vector_view<real_t>("batch_log_q", batch);
  batch_S_ = vector_view<real_t>("batch_S", batch);
  start();
}

std::vector<std::string> FlowMhSampler::record_scalars() const {
  std::vector<std::string> names = {"accepted", "log_q", "S", "log_w"};
  for (const auto& name : field_observable_names()) names.push_back("proposal_" + name);
  names.insert(names.end(), {"proposal_log_q", "proposal_S", "proposal_log_w"});
  return names;
}

void FlowMhSampler::start() {
  // No state yet: log w = -inf, so that the first proposal is accepted whatever the coin.
  Kokkos::deep_copy(phi_, 0.0);
  Kokkos::deep_copy(log_q_, 0.0);
  Kokkos::deep_copy(S_, 0.0);
  Kokkos::deep_copy(log_w_, -std::numeric_limits<double>::infinity());
}

void FlowMhSampler::restore(const ConstFieldBatch& phi, const ChainValues& values) {
  Kokkos::deep_copy(phi_, phi);
  const auto log_q = log_q_, S = S_, log_w = log_w_;
  Kokkos::parallel_for(
      "phi4flow::FlowMhSampler::restore", Kokkos::RangePolicy<ExecSpace>(0, chains_), KOKKOS_LAMBDA(const int c) {
        log_q(c) = values(c, 0);
        S(c) = values(c, 1);
        log_w(c) = values(c, 2);
      });
}

void FlowMhSampler::save(const FieldBatch& phi, const ChainValues& values) const {
  Kokkos::deep_copy(phi, phi_);
  const auto log_q = log_q_, S = S_, log_w = log_w_;
  Kokkos::parallel_for(
      "phi4flow::FlowMhSampler::save", Kokkos::RangePolicy<ExecSpace>(0, chains_), KOKKOS_LAMBDA(const int c) {
        values(c, 0) = log_q(c);
        values(c, 1) = S(c);
        values(c, 2) = log_w(c);
      });
}

void FlowMhSampler::draw_round(std::int64_t first_step, int steps) {
  const int batch = static_cast<int>(z_.extent(0));
  const int pairs = steps * chains_;
  for (int first = 0; first < pairs; first += batch) {
    const int n = std::min(batch, pairs - first);
    detail::key_pairs(streams_, steps_, first, n, chains_, first_chain_, first_step);
    rng::fill_normal(proposal_gen_, streams_, steps_, z_);
    model_.sample(z_, batch_phi_, batch_log_q_);
    action_.action(batch_phi_, batch_S_);
    detail::keep_rows(batch_phi_, batch_log_q_, batch_S_, first, n, round_phi_, round_log_q_, round_S_);
  }
  round_first_step_ = first_step;
  round_steps_ = steps;
}

void FlowMhSampler::advance(std::int64_t step, std::int64_t steps_left) {
  if (step_in_round_ < 0 || step < round_first_step_ || step >= round_first_step_ + round_steps_)
    draw_round(step, static_cast<int>(std::min<std::int64_t>(round_, steps_left)));
  const int k = step_in_round_ = static_cast<int>(step - round_first_step_);
  const int chains = chains_, first_chain = first_chain_, sites = static_cast<int>(phi_.extent(1));
  const auto coin = coin_;
  const auto log_q = log_q_, S = S_, log_w = log_w_, round_log_q = round_log_q_, round_S = round_S_;
  const auto accepted = accepted_;
  const auto total = accepted_total_;
  Kokkos::parallel_for(
      "phi4flow::FlowMhSampler::metropolis", Kokkos::RangePolicy<ExecSpace>(0, chains), KOKKOS_LAMBDA(const int c) {
        const int i = k * chains + c;
        const double u = coin.uniform(static_cast<std::uint32_t>(first_chain + c), static_cast<std::uint64_t>(step), 0);
        const double proposal_log_w = -round_S(i) - round_log_q(i);
        const bool accept = mh_accept(log_w(c), proposal_log_w, u);
        if (accept) {
          log_w(c) = proposal_log_w;
          log_q(c) = round_log_q(i);
          S(c) = round_S(i);
        }
        accepted(c) = accept ? 1 : 0;
        total(c) += accepted(c);
      });
  const auto phi = phi_, round_phi = round_phi_;
  Kokkos::parallel_for(
      "phi4flow::FlowMhSampler::move", Kokkos::RangePolicy<ExecSpace>(0, chains * sites), KOKKOS_LAMBDA(const int j) {
        const int c = j / sites, s = j % sites;
        if (accepted(c)) phi(c, s) = round_phi(k * chains + c, s);
      });
  proposed_ += chains_;
}

void FlowMhSampler::record(const SamplerRecord& out) {
  const int k = step_in_round_, chains = chains_;
  const auto rows = std::make_pair(k * chains, (k + 1) * chains);
  const auto proposal_phi = Kokkos::subview(round_phi_, rows, Kokkos::ALL);
  const auto proposal_S = Kokkos::subview(round_S_, rows);
  const int first_observable = 4, n_observables = static_cast<int>(field_observable_names().size());
  meter_.measure(proposal_phi, proposal_S,
                 Kokkos::subview(out.scalars, std::make_pair(first_observable, first_observable + n_observables),
                                 Kokkos::ALL),
                 Kokkos::subview(out.vectors, 0, Kokkos::ALL, Kokkos::ALL));
  const auto scalars = out.scalars;
  const auto accepted = accepted_;
  const auto log_q = log_q_, S = S_, round_log_q = round_log_q_, round_S = round_S_;
  const int tail = first_observable + n_observables;
  Kokkos::parallel_for(
      "phi4flow::FlowMhSampler::record", Kokkos::RangePolicy<ExecSpace>(0, chains), KOKKOS_LAMBDA(const int c) {
        const int i = k * chains + c;
        scalars(0, c) = accepted(c);
        scalars(1, c) = log_q(c);
        scalars(2, c) = S(c);
        scalars(3, c) = -S(c) - log_q(c);
        scalars(tail, c) = round_log_q(i);
        scalars(tail + 1, c) = round_S(i);
        scalars(tail + 2, c) = -round_S(i) - round_log_q(i);
      });
}

AcceptanceCounts FlowMhSampler::acceptance() const {
  long long accepted = 0;
  const auto total = accepted_total_;
  Kokkos::parallel_reduce(
      "phi4flow::FlowMhSampler::acceptance", Kokkos::RangePolicy<ExecSpace>(0, chains_),
      KOKKOS_LAMBDA(const int c, long long& sum) { sum += total(c); }, accepted);
  return {accepted, proposed_};
}

}  // namespace phi4flow
