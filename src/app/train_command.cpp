// phi4flow train: reverse-KL training of a flow on all ranks, with progress, a history file, atomic
// checkpoints and exact resume.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "commands.hpp"
#include "flow_setup.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/io/provenance.hpp"
#include "phi4flow/parallel/collective.hpp"
#include "phi4flow/parallel/mpi_reducer.hpp"
#include "phi4flow/train/trainer.hpp"
#include "progress.hpp"
#include "stop_request.hpp"

namespace phi4flow::app {

namespace {

TrainerSettings trainer_settings(const io::Settings& s) {
  TrainerSettings t;
  t.batch_size = s.train.batch_size;
  t.seed = static_cast<std::uint32_t>(s.run.seed);
  t.gradient = s.train.gradient == "path" ? flow::GradientEstimator::path : flow::GradientEstimator::total;
  t.adam = AdamParams{s.train.beta1, s.train.beta2, s.train.adam_epsilon};
  t.schedule = LearningRateSchedule{s.train.lr_schedule, s.train.lr, s.train.lr_step_at, s.train.lr_step_factor,
                                    s.train.lr_decade_steps, s.train.lr_warmup_steps};
  return t;
}

/// What must agree for a resumed run to continue the same optimisation exactly; `s` holds the training solver
/// (flow.ode_steps already replaced by train.ode_steps).
io::AttrList training_identity(const io::Settings& s) {
  return {{"seed", s.run.seed},
          {"batch_size", std::int64_t{s.train.batch_size}},
          {"lr", s.train.lr},
          {"lr_schedule", s.train.lr_schedule},
          {"lr_step_at", std::int64_t{s.train.lr_step_at}},
          {"lr_step_factor", s.train.lr_step_factor},
          {"lr_decade_steps", std::int64_t{s.train.lr_decade_steps}},
          {"lr_warmup_steps", std::int64_t{s.train.lr_warmup_steps}},
          {"beta1", s.train.beta1},
          {"beta2", s.train.beta2},
          {"adam_epsilon", s.train.adam_epsilon},
          {"gradient", s.train.gradient},
          {"ode_steps", std::int64_t{s.flow.ode_steps}},
          {"sincos_precision", s.flow.sincos_precision}};
}

std::string history_path(const std::string& checkpoint) {
  const auto dot = checkpoint.rfind(".h5");
  return (dot == std::string::npos ? checkpoint : checkpoint.substr(0, dot)) + ".history.csv";
}

/// Keep the history rows up to `step` (a resumed run repeats what came after its checkpoint).
void truncate_history(const std::string& path, std::int64_t step) {
  std::ifstream in(path);
  std::stringstream kept;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == 's' || std::stoll(line.substr(0, line.find(','))) <= step) kept << line << '\n';
  }
  in.close();
  std::ofstream(path) << kept.str();
}

}  // namespace

int train_command(const Environment& env, int argc, char** argv) {
  io::Settings settings;
  io::Input input;
  if (!io::parse_input("train", argc, argv, settings, input, env.rank() == 0)) return 0;
  const io::TrainConfig& train = settings.train;
  io::validate(settings.run);
  io::validate(train, env.size());
  const Lattice lattice(settings.lattice.L);
  const Phi4Action action(lattice, Couplings{settings.action.m2, settings.action.lam});
  // Training may integrate the flow more coarsely than sampling does (train.ode_steps): the parameters are the
  // same model; solver-error tells how far the coarse log q is off for the trained flow.
  io::Settings model_settings = settings;
  if (train.ode_steps > 0) {
    // The model checks the training solver; flow.ode_steps, which sampling will use, is checked here.
    if (settings.flow.model == "equivariant_cnf" && settings.flow.ode_steps < 1) {
      throw InputError("flow.ode_steps: must be at least 1, got " + std::to_string(settings.flow.ode_steps) +
                       " (sampling integrates the trained flow with it)");
    }
    model_settings.flow.ode_steps = train.ode_steps;
  }
  const std::unique_ptr<flow::Model> model = make_model(model_settings, lattice);
  if (train.gradient == "path" && !model->has_path_gradient()) {
    throw InputError("train.gradient = path is implemented for flow.model = equivariant_cnf only; use "
                     "train.gradient = total with flow.model = " + model->kind());
  }
  check_on_root(env.comm(),
                [&] { io::check_output_path("train.checkpoint", train.checkpoint, input.force, input.resume); });

  MpiReducer reducer(env.comm());
  Trainer trainer(*model, action, trainer_settings(settings), reducer, env.rank(), env.size());
  const io::AttrList identity = model_identity(*model, model_settings);
  const io::AttrList optimisation = training_identity(model_settings);
  const bool root = env.rank() == 0;
  const std::string history = history_path(train.checkpoint);
  double earlier_seconds = 0.0;  // training time before this run, so that history times add up across resumes

  if (input.resume) {
    const io::Checkpoint checkpoint = io::read_checkpoint(train.checkpoint);
    require_same_model(identity, checkpoint.model, "checkpoint '" + train.checkpoint + "'");
    io::AttrList stored_training = checkpoint.training;
    // Checkpoints from before train.lr_warmup_steps existed trained without a warm-up.
    if (!io::has_attr(stored_training, "lr_warmup_steps"))
      stored_training.emplace_back("lr_warmup_steps", std::int64_t{0});
    io::require_match(optimisation, stored_training, "checkpoint '" + train.checkpoint + "'");
    load_array(checkpoint.arrays.at("parameters"), model->parameters(), train.checkpoint + ": parameters");
    load_array(checkpoint.arrays.at("adam_m"), trainer.optimizer().first_moment(), train.checkpoint + ": adam_m");
    load_array(checkpoint.arrays.at("adam_v"), trainer.optimizer().second_moment(), train.checkpoint + ": adam_v");
    trainer.optimizer().set_updates(checkpoint.counters.at("step"));
    earlier_seconds = 1e-3 * static_cast<double>(checkpoint.counters.at("elapsed_ms"));
    if (root) truncate_history(history, trainer.steps_done());
  } else {
    if (!train.init_from.empty()) {
      // A next stage, or a start from a flow of other couplings or a smaller lattice: the parameters carry over,
      // the optimiser starts afresh; history times continue, since they are the training behind the model.
      const io::Checkpoint start = load_start_parameters(*model, identity, train.init_from);
      // The training streams are keyed by (seed, step): the same seed would replay the earlier stage's samples.
      if (io::has_attr(start.rng, "seed") && io::attr_real(start.rng, "seed", train.init_from) == settings.run.seed) {
        throw InputError("train.init_from: " + train.init_from +
                         " was trained with run.seed = " + std::to_string(settings.run.seed) +
                         "; give this stage its own run.seed, so that its samples are independent of the earlier ones");
      }
      if (start.counters.count("elapsed_ms"))
        earlier_seconds = 1e-3 * static_cast<double>(start.counters.at("elapsed_ms"));
    }
    if (root) std::ofstream(history) << "step,loss,ess,lr,seconds\n";
  }

  Progress progress("train: step", train.steps, 0.0, root);
  progress.set_start(trainer.steps_done());
  progress.set_time_limit(train.time_limit);
  const auto save = [&] {
    if (!root) return;
    io::Checkpoint checkpoint;
    checkpoint.root = io::provenance(input, env.size());
    checkpoint.model = identity;
    checkpoint.training = optimisation;
    checkpoint.training.emplace_back("steps_planned", std::int64_t{train.steps});
    if (!train.init_from.empty()) checkpoint.training.emplace_back("init_from", train.init_from);
    checkpoint.rng = {{"generator", std::string("Philox4x32-10 (Random123)")},
                      {"seed", settings.run.seed},
                      {"key", std::string("(seed, purpose); counter (global sample, step, site pair)")}};
    checkpoint.arrays["parameters"] = to_vector(model->parameters());
    checkpoint.arrays["adam_m"] = to_vector(trainer.optimizer().first_moment());
    checkpoint.arrays["adam_v"] = to_vector(trainer.optimizer().second_moment());
    checkpoint.counters["step"] = trainer.steps_done();
    checkpoint.counters["elapsed_ms"] = static_cast<std::int64_t>(1e3 * (earlier_seconds + progress.elapsed()));
    io::write_checkpoint(train.checkpoint, checkpoint);
  };

  if (root) {
    std::printf("phi4flow train: %s on L = %d (m2 = %g, lam = %g), %zu parameters, batch %d on %d ranks, %d steps%s\n",
                model->kind().c_str(), lattice.extent(), settings.action.m2, settings.action.lam,
                model->parameters().extent(0), train.batch_size, env.size(), train.steps,
                input.resume ? (", resuming at step " + std::to_string(trainer.steps_done())).c_str() : "");
    std::fflush(stdout);
  }
  const auto report = [&](std::int64_t step, double loss) {
    const double ess = trainer.effective_sample_size(train.ess_samples, static_cast<std::uint64_t>(step));
    if (!root) return;
    char details[96];
    std::snprintf(details, sizeof details, "loss %.5f  ESS %.4f  lr %.2e", loss, ess, trainer.learning_rate());
    progress.update(step, details, true);
    std::ofstream(history, std::ios::app) << step << ',' << loss << ',' << ess << ',' << trainer.learning_rate() << ','
                                          << earlier_seconds + progress.elapsed() << '\n';
  };
  install_stop_handlers();
  int stop_signal = 0;
  while (trainer.steps_done() < train.steps) {
    const double loss = trainer.step();
    const std::int64_t step = trainer.steps_done();
    stop_signal = stop_requested(env.comm());
    // Rank 0's clock decides, so that all ranks stop after the same step.
    int out_of_time = root && train.time_limit > 0 && progress.elapsed() >= train.time_limit;
    MPI_Bcast(&out_of_time, 1, MPI_INT, 0, env.comm());
    const bool last = step == train.steps || out_of_time;
    if (step % train.ess_every == 0 || last) report(step, loss);
    if (step % train.checkpoint_every == 0 || last || stop_signal) save();
    if (out_of_time && root) std::printf("phi4flow train: time limit of %.0f s reached\n", train.time_limit);
    if (stop_signal || out_of_time) break;
  }
  if (root) {
    std::printf(stop_signal ? "phi4flow train: stopped by signal after step %lld; checkpoint %s; continue with "
                              "--resume\n"
                            : "phi4flow train: done at step %lld; checkpoint %s, history %s\n",
                static_cast<long long>(trainer.steps_done()), train.checkpoint.c_str(), history.c_str());
  }
  return stop_signal ? exit_interrupted : 0;
}

}  // namespace phi4flow::app
