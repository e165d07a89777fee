// Training: Adam and the schedules by hand; the data-parallel step and the ESS estimate give the same numbers on
// any number of ranks as on one process with the whole batch.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "phi4flow/flow/equivariant_flow.hpp"
#include "phi4flow/flow/real_nvp.hpp"
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

// The distributed run (all ranks of MPI_COMM_WORLD) against the whole batch on this process alone.
template <class MakeModel>
void expect_same_parameters_on_any_number_of_ranks(const MakeModel& make_model,
                                                   flow::GradientEstimator gradient = flow::GradientEstimator::total) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const Lattice lattice(4);
  const Phi4Action action(lattice, Couplings{-4.0, 6.975});
  TrainerSettings settings;
  settings.batch_size = 6;
  settings.seed = 3;
  settings.gradient = gradient;
  settings.schedule = LearningRateSchedule{"constant", 1e-2, 0, 0.0, 1};

  const auto distributed_model = make_model(lattice);
  MpiReducer mpi(MPI_COMM_WORLD);
  Trainer distributed(*distributed_model, action, settings, mpi, rank, size);
  const auto single_model = make_model(lattice);
  LocalReducer local;
  Trainer single(*single_model, action, settings, local, 0, 1);
  const auto initial = host_copy(single_model->parameters());

  for (int step = 0; step < 4; ++step) {
    const double loss_distributed = distributed.step();
    const double loss_single = single.step();
    EXPECT_NEAR(loss_distributed, loss_single, 1e-10 * (1.0 + std::abs(loss_single)));
  }
  const auto a = host_copy(distributed_model->parameters());
  const auto b = host_copy(single_model->parameters());
  ASSERT_EQ(a.size(), b.size());
  double max_change = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i], b[i], 1e-11) << "parameter " << i;
    max_change = std::max(max_change, std::abs(b[i] - initial[i]));
  }
  EXPECT_GT(max_change, 1e-3) << "training did not move the parameters";
  EXPECT_NEAR(distributed.effective_sample_size(10, 7), single.effective_sample_size(10, 7), 1e-12);
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
