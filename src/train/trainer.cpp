// The data-parallel reverse-KL training step and the ESS estimate.
#include "phi4flow/train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "phi4flow/error.hpp"
#include "phi4flow/rng/philox.hpp"

namespace phi4flow {

namespace {
/// [first, first + count) of n items split as evenly as possible over n_ranks.
std::pair<int, int> share(int n, int rank, int n_ranks) {
  const int first = static_cast<int>(static_cast<long>(n) * rank / n_ranks);
  const int last = static_cast<int>(static_cast<long>(n) * (rank + 1) / n_ranks);
  return {first, last - first};
}
}  // namespace

Trainer::Trainer(flow::Model& model, const Phi4Action& action, const TrainerSettings& settings, Reducer& reducer,
                 int rank, int n_ranks)
    : model_(model),
      action_(action),
      settings_(settings),
      reducer_(reducer),
      rank_(rank),
      n_ranks_(n_ranks),
      adam_(static_cast<int>(model.parameters().extent(0)), settings.adam) {
  std::tie(first_sample_, local_batch_) = share(settings.batch_size, rank, n_ranks);
  PHI4FLOW_CHECK(local_batch_ > 0, "every rank needs at least one sample of the batch");
  const int n_sites = action.lattice().volume();
  z_ = FieldBatch(uninitialized("phi4flow::Trainer::z"), local_batch_, n_sites);
  phi_ = FieldBatch(uninitialized("phi4flow::Trainer::phi"), local_batch_, n_sites);
  log_q_ = BatchScalars(uninitialized("phi4flow::Trainer::log_q"), local_batch_);
  S_ = BatchScalars(uninitialized("phi4flow::Trainer::S"), local_batch_);
  grad_and_loss_ = flow::ParameterView("phi4flow::Trainer::grad_and_loss", model.parameters().extent(0) + 1);
}

double Trainer::step() {
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point start) {
    Kokkos::fence();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  const auto start = Clock::now();
  const std::int64_t t = adam_.updates();
  rng::fill_normal(rng::Philox(settings_.seed, rng::Purpose::flow_latent), first_sample_, t, z_);
  const std::size_t n_params = model_.parameters().extent(0);
  const auto grad = Kokkos::subview(grad_and_loss_, std::make_pair(std::size_t{0}, n_params));
  const double local_loss = model_.loss_and_gradient(z_, action_, grad, settings_.gradient);
  Kokkos::deep_copy(Kokkos::subview(grad_and_loss_, n_params), local_loss);
  const double compute = seconds_since(start);
  const auto reduce_start = Clock::now();
  reducer_.sum(grad_and_loss_);
  const double allreduce = seconds_since(reduce_start);
  const auto update_start = Clock::now();
  const auto count_time = [&] {
    times_.steps += 1;
    times_.compute += compute;
    times_.allreduce += allreduce;
    times_.update += seconds_since(update_start);
  };

  const double inverse_batch = 1.0 / settings_.batch_size;
  const auto buffer = grad_and_loss_;
  Kokkos::parallel_for(
      "phi4flow::Trainer::mean", Kokkos::RangePolicy<ExecSpace>(0, n_params + 1),
      KOKKOS_LAMBDA(const int i) { buffer(i) *= inverse_batch; });
  double loss = 0.0;
  Kokkos::deep_copy(loss, Kokkos::subview(grad_and_loss_, n_params));
  // A non-finite gradient would poison every parameter: skip the update, so that the model keeps its last
  // finite state, and let the caller stop on the non-finite loss.
  int non_finite = 0;
  Kokkos::parallel_reduce(
      "phi4flow::Trainer::check_finite", Kokkos::RangePolicy<ExecSpace>(0, n_params + 1),
      KOKKOS_LAMBDA(const int i, int& count) { count += buffer(i) - buffer(i) == 0.0 ? 0 : 1; }, non_finite);
  if (non_finite > 0) {
    count_time();
    return std::numeric_limits<double>::quiet_NaN();
  }
  adam_.step(model_.parameters(), grad, settings_.schedule(t));
  count_time();
  return loss;
}

double Trainer::effective_sample_size(int n_samples, std::uint64_t index) {
  const auto [first, count] = share(n_samples, rank_, n_ranks_);
  const rng::Philox gen(settings_.seed, rng::Purpose::flow_eval);
  // Full batches of the training size, so that the model's scratch memory is reused; surplus samples of the
  // last batch are drawn but not counted.
  std::vector<double> log_w;
  log_w.reserve(count);
  auto host_log_q = Kokkos::create_mirror_view(log_q_);
  auto host_S = Kokkos::create_mirror_view(S_);
  for (int done = 0; done < count; done += local_batch_) {
    rng::fill_normal(gen, static_cast<std::uint32_t>(first + done), index, z_);
    model_.sample(z_, phi_, log_q_);
    action_.action(phi_, S_);
    Kokkos::deep_copy(host_log_q, log_q_);
    Kokkos::deep_copy(host_S, S_);
    for (int b = 0; b < std::min(local_batch_, count - done); ++b) log_w.push_back(-host_S(b) - host_log_q(b));
  }
  // log-sum-exp over ranks: shift by the global maximum, then sum w and w^2.
  double local_max = -std::numeric_limits<double>::infinity();
  for (double x : log_w) local_max = std::max(local_max, std::isnan(x) ? local_max : x);
  const double shift = reducer_.max(local_max);
  double sum_w = 0.0, sum_w2 = 0.0;
  for (double x : log_w) {
    const double w = std::exp(x - shift);  // a NaN weight (diverged sample) counts as zero
    if (std::isfinite(w)) {
      sum_w += w;
      sum_w2 += w * w;
    }
  }
  sum_w = reducer_.sum(sum_w);
  sum_w2 = reducer_.sum(sum_w2);
  return sum_w2 > 0.0 ? sum_w * sum_w / (n_samples * sum_w2) : 0.0;
}

}  // namespace phi4flow
