// Training: Adam and the schedules by hand; the data-parallel step and the ESS estimate give the same numbers on
// any number of ranks (1, 2 and 3 in CTest; 3 splits the batch unevenly) as training written out by hand on one
// process with the whole batch.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "phi4flow/flow/equivariant_flow.hpp"
#include "phi4flow/flow/real_nvp.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/parallel/make_reducer.hpp"
#include "phi4flow/parallel/mpi_reducer.hpp"
#include "phi4flow/rng/philox.hpp"
#include "phi4flow/train/trainer.hpp"

using namespace phi4flow;

namespace {

flow::EquivariantFlowConfig small_flow() {
  flow::EquivariantFlowConfig config;
  config.time_basis = 4;
  config.frequencies = 3;
  config.steps = 6;
  return config;
}

std::vector<double> host_copy(const flow::ParameterView& v) {
  auto h = Kokkos::create_mirror_view_and_copy(HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

}  // namespace

TEST(Adam, FirstStepsMatchHandCalculation) {
  Adam adam(2, AdamParams{0.8, 0.9, 1e-8});
  flow::ParameterView p("p", 2), g("g", 2);
  auto hg = Kokkos::create_mirror_view(g);
  hg(0) = 0.5;
  hg(1) = -2.0;
  Kokkos::deep_copy(g, hg);
  adam.step(p, g, 0.1);  // first step: m_hat = g, v_hat = g^2, so the update is -lr * sign(g)
  auto hp = Kokkos::create_mirror_view_and_copy(HostSpace(), p);
  EXPECT_NEAR(hp(0), -0.1, 1e-7);
  EXPECT_NEAR(hp(1), 0.1, 1e-7);
  adam.step(p, g, 0.1);  // constant gradient: still exactly -lr * sign(g) per step
  hp = Kokkos::create_mirror_view_and_copy(HostSpace(), p);
  EXPECT_NEAR(hp(0), -0.2, 1e-7);
  EXPECT_EQ(adam.updates(), 2);
}

TEST(LearningRateSchedule, PaperStepAndExponential) {
  const LearningRateSchedule paper{"step", 1e-3, 250, 0.1, 1};
  EXPECT_DOUBLE_EQ(paper(249), 1e-3);
  EXPECT_DOUBLE_EQ(paper(250), 1e-4);
  const LearningRateSchedule decay{"exponential", 1e-2, 0, 0.0, 1000};
  EXPECT_DOUBLE_EQ(decay(0), 1e-2);
  EXPECT_NEAR(decay(1000), 1e-3, 1e-15);
  EXPECT_NEAR(decay(500), 1e-2 / std::sqrt(10.0), 1e-15);
  EXPECT_DOUBLE_EQ((LearningRateSchedule{"constant", 3e-3, 0, 0.0, 1})(12345), 3e-3);
}

TEST(LearningRateSchedule, WarmupRisesLinearlyThenFollowsTheSchedule) {
  const LearningRateSchedule warm{"exponential", 1e-2, 0, 0.0, 1000, 4};
  EXPECT_DOUBLE_EQ(warm(0), 0.25 * 1e-2);
  EXPECT_NEAR(warm(2), 0.75 * 1e-2 * std::pow(10.0, -2.0 / 1000), 1e-17);
  EXPECT_DOUBLE_EQ(warm(4), (LearningRateSchedule{"exponential", 1e-2, 0, 0.0, 1000})(4));
  const LearningRateSchedule paper{"step", 1e-3, 2, 0.1, 1, 4};
  EXPECT_DOUBLE_EQ(paper(1), 0.5 * 1e-3);
  EXPECT_DOUBLE_EQ(paper(3), 1e-4);
}

// The reference: training written out by hand on this process, independent of the Trainer's split of the batch,
// its reductions and its mean. The global batch of step t is the latent stream (seed, flow_latent) at counter t,
// samples 0 .. B-1; it is evaluated in `parts` consecutive pieces of uneven size whose sums are added, which is
// what a run on `parts` ranks does (and at parts = 1, the whole batch at once).
struct Reference {
  std::vector<double> losses, parameters;
  double ess = 0.0;
};

template <class MakeModel>
Reference train_by_hand(const MakeModel& make_model, const Lattice& lattice, const Phi4Action& action,
                        const TrainerSettings& settings, int parts, int steps, int ess_samples,
                        std::uint64_t ess_index) {
  const auto model = make_model(lattice);
  const int B = settings.batch_size, N = lattice.volume();
  const std::size_t n_params = model->parameters().extent(0);
  Adam adam(static_cast<int>(n_params), settings.adam);
  // The sum over pieces and the mean on the host: a template with a lambda argument may not hold device lambdas
  // under nvcc, and the order of the additions is the same.
  flow::ParameterView grad("grad", n_params), part_grad("part_grad", n_params);
  const auto h_grad = Kokkos::create_mirror_view(grad);
  Reference ref;
  for (int t = 0; t < steps; ++t) {
    Kokkos::deep_copy(h_grad, 0.0);
    double loss = 0.0;
    for (int p = 0, first = 0; p < parts; ++p) {
      // Pieces of B / parts, the odd ones one larger, the last the rest: 33, 34, 33 of 100 (the Trainer on 3 ranks
      // splits 33, 33, 34).
      const int count = std::min(B - first, p + 1 == parts ? B - first : B / parts + (p % 2));
      if (count <= 0) continue;
      FieldBatch z("z", count, N);
      rng::fill_normal(rng::Philox(settings.seed, rng::Purpose::flow_latent), static_cast<std::uint32_t>(first),
                       static_cast<std::uint64_t>(t), z);
      loss += model->loss_and_gradient(z, action, part_grad, settings.gradient);
      const auto h_part = Kokkos::create_mirror_view_and_copy(HostSpace(), part_grad);
      for (std::size_t i = 0; i < n_params; ++i) h_grad(i) += h_part(i);
      first += count;
    }
    for (std::size_t i = 0; i < n_params; ++i) h_grad(i) /= B;
    Kokkos::deep_copy(grad, h_grad);
    adam.step(model->parameters(), grad, settings.schedule(t));
    ref.losses.push_back(loss / B);
  }
  ref.parameters = host_copy(model->parameters());
  // ESS of ess_samples fresh samples of the evaluation stream at counter ess_index, all at once.
  FieldBatch z("z", ess_samples, N), phi("phi", ess_samples, N);
  BatchScalars log_q("log_q", ess_samples), S("S", ess_samples);
  rng::fill_normal(rng::Philox(settings.seed, rng::Purpose::flow_eval), 0, ess_index, z);
  model->sample(z, phi, log_q);
  action.action(phi, S);
  const auto h_q = Kokkos::create_mirror_view_and_copy(HostSpace(), log_q);
  const auto h_S = Kokkos::create_mirror_view_and_copy(HostSpace(), S);
  double shift = -1e300, s1 = 0.0, s2 = 0.0;
  for (int b = 0; b < ess_samples; ++b) shift = std::max(shift, -h_S(b) - h_q(b));
  for (int b = 0; b < ess_samples; ++b) {
    const double w = std::exp(-h_S(b) - h_q(b) - shift);
    s1 += w;
    s2 += w * w;
  }
  ref.ess = s1 * s1 / (ess_samples * s2);
  return ref;
}

// The Trainer on all ranks of MPI_COMM_WORLD (1, 2 or 3: a batch of 100 splits 33/33/34 over 3) against the
// hand-written reference, with the whole batch at once and in three uneven pieces: at 1 rank as much as at 3,
// the test compares two independent computations.
template <class MakeModel>
void expect_same_parameters_on_any_number_of_ranks(const MakeModel& make_model,
                                                   flow::GradientEstimator gradient = flow::GradientEstimator::total,
                                                   int batch_size = 100) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const Lattice lattice(4);
  const Phi4Action action(lattice, Couplings{-4.0, 6.975});
  TrainerSettings settings;
  settings.batch_size = batch_size;
  settings.seed = 3;
  settings.gradient = gradient;
  settings.schedule = LearningRateSchedule{"constant", 1e-2, 0, 0.0, 1};
  constexpr int steps = 4, ess_samples = 10;
  constexpr std::uint64_t ess_index = 7;

  const auto distributed_model = make_model(lattice);
  MpiReducer mpi(Communicator::world());
  Trainer distributed(*distributed_model, action, settings, mpi, rank, size);
  const auto initial = host_copy(distributed_model->parameters());
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) losses.push_back(distributed.step());
  const double ess = distributed.effective_sample_size(ess_samples, ess_index);
  const auto a = host_copy(distributed_model->parameters());

  for (const int parts : {1, 3}) {
    SCOPED_TRACE("reference in " + std::to_string(parts) + " pieces, trainer on " + std::to_string(size) + " ranks");
    const Reference ref =
        train_by_hand(make_model, lattice, action, settings, parts, steps, ess_samples, ess_index);
    for (int step = 0; step < steps; ++step)
      EXPECT_NEAR(losses[step], ref.losses[step], 1e-10 * (1.0 + std::abs(ref.losses[step]))) << "step " << step;
    ASSERT_EQ(a.size(), ref.parameters.size());
    double max_change = 0.0;
    long differ = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!(std::abs(a[i] - ref.parameters[i]) <= 1e-11)) {
        if (++differ <= 5) ADD_FAILURE() << "parameter " << i << ": " << a[i] << " vs " << ref.parameters[i];
      }
      max_change = std::max(max_change, std::abs(ref.parameters[i] - initial[i]));
    }
    EXPECT_EQ(differ, 0) << "parameters that differ from the reference";
    EXPECT_GT(max_change, 1e-3) << "training did not move the parameters";
    EXPECT_NEAR(ess, ref.ess, 1e-12);
  }
  // Every rank holds the same parameters, bit for bit (all apply the same reduced step).
  std::vector<double> on_root = a;
  MPI_Bcast(on_root.data(), static_cast<int>(on_root.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  EXPECT_TRUE(on_root == a) << "rank " << rank << " holds other parameters than rank 0";
}

TEST(Trainer, SameGlobalBatchOnAnyNumberOfRanksGivesSameParameters) {
  expect_same_parameters_on_any_number_of_ranks(
      [](const Lattice& lattice) { return std::make_unique<flow::EquivariantFlow>(lattice, small_flow(), 3); });
}

TEST(Trainer, SameGlobalBatchOnAnyNumberOfRanksGivesSameParametersWithThePathGradient) {
  expect_same_parameters_on_any_number_of_ranks(
      [](const Lattice& lattice) { return std::make_unique<flow::EquivariantFlow>(lattice, small_flow(), 3); },
      flow::GradientEstimator::path);
}

TEST(Trainer, SameGlobalBatchOnAnyNumberOfRanksGivesSameRealNvpParameters) {
  flow::RealNvpConfig config;
  config.coupling_layers = 4;
  config.hidden_channels = 4;
  expect_same_parameters_on_any_number_of_ranks(
      [&](const Lattice& lattice) { return std::make_unique<flow::RealNvp>(lattice, config, 3); });
}

TEST(Trainer, EssOfTheIdentityFlowIsThatOfGaussianProposals) {
  // theta = 0: q = N(0, 1) exactly, so the ESS equals that of weights exp(-S(z) - log r(z)) computed by hand.
  const Lattice lattice(3);
  const Phi4Action action(lattice, Couplings{-4.0, 6.975});
  flow::EquivariantFlow model(lattice, small_flow(), 5);
  LocalReducer local;
  TrainerSettings settings;
  settings.batch_size = 4;
  settings.seed = 9;
  Trainer trainer(model, action, settings, local, 0, 1);
  const int n = 10;
  const double ess = trainer.effective_sample_size(n, 2);

  FieldBatch z("z", 12, lattice.volume());  // three full batches of 4, as the trainer draws them
  rng::fill_normal(rng::Philox(9, rng::Purpose::flow_eval), 0, 2, z);
  BatchScalars S("S", 12);
  action.action(z, S);
  const auto hz = Kokkos::create_mirror_view_and_copy(HostSpace(), z);
  const auto hS = Kokkos::create_mirror_view_and_copy(HostSpace(), S);
  std::vector<double> log_w;
  for (int b = 0; b < n; ++b) {
    double z2 = 0.0;
    for (int s = 0; s < lattice.volume(); ++s) z2 += hz(b, s) * hz(b, s);
    const double log_r = -0.5 * z2 - 0.5 * lattice.volume() * std::log(2 * M_PI);
    log_w.push_back(-hS(b) - log_r);
  }
  double m = *std::max_element(log_w.begin(), log_w.end()), s1 = 0.0, s2 = 0.0;
  for (double x : log_w) {
    s1 += std::exp(x - m);
    s2 += std::exp(2 * (x - m));
  }
  EXPECT_NEAR(ess, s1 * s1 / (n * s2), 1e-10);
  EXPECT_GT(ess, 0.0);
  EXPECT_LE(ess, 1.0);
}

// The reducer of parallel.reducer (parallel/make_reducer.hpp): the choices, and on a CUDA build with NCCL the NCCL
// reducer against the MPI one.
TEST(MakeReducer, MpiAlwaysAutoMpiWithoutCudaOrWithOneRank) {
  const Communicator world = Communicator::world();
  EXPECT_EQ(make_reducer("mpi", world)->name(), "mpi");
  const std::string chosen = make_reducer("auto", world)->name();
#if defined(KOKKOS_ENABLE_CUDA)
  // NCCL when it is built, there are several ranks and each has a GPU of its own.
  if (!nccl_reducer_built() || world.size() == 1) EXPECT_EQ(chosen, "mpi");
  else EXPECT_TRUE(chosen == "mpi" || chosen == "nccl") << chosen;
#else
  EXPECT_EQ(chosen, "mpi") << "auto on a build without CUDA";
#endif
}

TEST(MakeReducer, UnknownChoiceAndNcclWithoutNcclAreInputErrorsNamingTheKey) {
  const Communicator world = Communicator::world();
  const auto message_of = [&](const std::string& choice) {
    try {
      make_reducer(choice, world);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message_of("gloo").find("parallel.reducer = 'gloo'"), std::string::npos) << message_of("gloo");
  EXPECT_THROW(check_reducer_choice("MPI"), InputError);
  if (!nccl_reducer_built()) {
    const std::string message = message_of("nccl");
    EXPECT_NE(message.find("parallel.reducer = nccl: this build has no NCCL reducer"), std::string::npos) << message;
    EXPECT_NE(message.find("use parallel.reducer = mpi"), std::string::npos) << message;
    EXPECT_THROW(check_reducer_choice("nccl"), InputError);
  } else {
    EXPECT_NO_THROW(check_reducer_choice("nccl"));
  }
}

#if defined(KOKKOS_ENABLE_CUDA)
namespace {

struct Trained {
  std::vector<double> losses, parameters;
};

Trained train_equivariant_flow(Reducer& reducer) {
  const Communicator world = Communicator::world();
  const Lattice lattice(4);
  const Phi4Action action(lattice, Couplings{-4.0, 6.975});
  TrainerSettings settings;
  settings.batch_size = 24;
  settings.seed = 5;
  settings.schedule = LearningRateSchedule{"constant", 1e-2, 0, 0.0, 1};
  flow::EquivariantFlow model(lattice, small_flow(), 3);
  Trainer trainer(model, action, settings, reducer, world.rank(), world.size());
  Trained result;
  for (int step = 0; step < 4; ++step) result.losses.push_back(trainer.step());
  result.parameters = host_copy(model.parameters());
  return result;
}

}  // namespace

// Runs on a GPU machine: the NCCL reducer sums the same gradients as MPI, so training gives the same losses and
// parameters up to the order of the additions. With ranks that share a GPU (2 or 3 ranks on one GPU) NCCL cannot
// run; the test then checks that parallel.reducer = nccl is refused by name instead.
TEST(Trainer, NcclReducerGivesTheMpiReducersParametersOrIsRefusedOnASharedGpu) {
  if (!nccl_reducer_built()) GTEST_SKIP() << "this CUDA build was configured with -DPHI4FLOW_ENABLE_NCCL=OFF";
  const Communicator world = Communicator::world();
  std::unique_ptr<Reducer> nccl;
  try {
    nccl = make_reducer("nccl", world);
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("parallel.reducer = nccl"), std::string::npos) << message;
    EXPECT_NE(message.find("share the GPU"), std::string::npos) << message;
    EXPECT_GT(world.size(), 1) << "a single rank cannot share its GPU: " << message;
    return;
  }
  ASSERT_EQ(nccl->name(), "nccl");
  MpiReducer mpi(world);
  const Trained a = train_equivariant_flow(mpi), b = train_equivariant_flow(*nccl);
  ASSERT_EQ(a.parameters.size(), b.parameters.size());
  for (std::size_t step = 0; step < a.losses.size(); ++step)
    EXPECT_NEAR(a.losses[step], b.losses[step], 1e-12 * (1.0 + std::abs(a.losses[step]))) << "step " << step;
  long differ = 0;
  for (std::size_t i = 0; i < a.parameters.size(); ++i) {
    if (!(std::abs(a.parameters[i] - b.parameters[i]) <= 1e-10) && ++differ <= 5)
      ADD_FAILURE() << "parameter " << i << ": mpi " << a.parameters[i] << ", nccl " << b.parameters[i];
  }
  EXPECT_EQ(differ, 0);
  // Every rank applies the same reduced step.
  std::vector<double> on_root = b.parameters;
  MPI_Bcast(on_root.data(), static_cast<int>(on_root.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  EXPECT_TRUE(on_root == b.parameters) << "rank " << world.rank() << " holds other parameters than rank 0";
}
#else
TEST(Trainer, NcclReducerGivesTheMpiReducersParameters) {
  GTEST_SKIP() << "no CUDA backend in this build: the NCCL reducer needs a CUDA Kokkos (runs on GPU machines)";
}
#endif
