// phi4flow train: reverse-KL training of a flow on all ranks, with progress, a history file, atomic
// checkpoints and exact resume.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "flow_setup.hpp"
#include "memory_check.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/io/provenance.hpp"
#include "phi4flow/parallel/make_reducer.hpp"
#include "phi4flow/run/training_run.hpp"
#include "phi4flow/train/trainer.hpp"

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
          {"precision", s.flow.precision}};
}

std::string history_path(const std::string& checkpoint) {
  const auto dot = checkpoint.rfind(".h5");
  return (dot == std::string::npos ? checkpoint : checkpoint.substr(0, dot)) + ".history.csv";
}

/// The settings the model is made with: training may integrate the flow more coarsely than sampling does
/// (train.ode_steps); the parameters are the same model, and solver-error tells how far the coarse log q is off.
io::Settings training_model_settings(const io::Settings& settings) {
  io::Settings model_settings = settings;
  if (settings.train.ode_steps > 0) {
    // The model checks the training solver; flow.ode_steps, which sampling will use, is checked here.
    if (settings.flow.model == "equivariant_cnf" && settings.flow.ode_steps < 1) {
      throw InputError("flow.ode_steps: must be at least 1, got " + std::to_string(settings.flow.ode_steps) +
                       " (sampling integrates the trained flow with it)");
    }
    model_settings.flow.ode_steps = settings.train.ode_steps;
  }
  return model_settings;
}

/// Where a run started: the training seconds behind its start, and the checkpoint it started from (empty: the
/// model's initialisation). A resumed run keeps its checkpoint's start, whatever train.init_from says now.
struct Start {
  double seconds = 0.0;
  std::string init_from;
};

/// Puts the model and optimiser where this run starts: a resumed checkpoint, a train.init_from start, or the
/// model's own initial parameters.
Start load_start(const io::Settings& settings, const io::Input& input, flow::Model& model, Trainer& trainer,
                  const io::AttrList& identity, const io::AttrList& optimisation) {
  const io::TrainConfig& train = settings.train;
  if (input.resume) {
    const io::Checkpoint checkpoint = io::read_checkpoint(train.checkpoint);
    const std::string source = "checkpoint '" + train.checkpoint + "'";
    require_same_model(identity, checkpoint.model, source);
    io::AttrList stored_training = checkpoint.training;
    // Checkpoints from before train.lr_warmup_steps existed trained without a warm-up.
    if (!io::has_attr(stored_training, "lr_warmup_steps"))
      stored_training.emplace_back("lr_warmup_steps", std::int64_t{0});
    io::require_match(optimisation, stored_training, source);
    load_array(checkpoint.arrays.at("parameters"), model.parameters(), train.checkpoint + ": parameters");
    load_array(checkpoint.arrays.at("adam_m"), trainer.optimizer().first_moment(), train.checkpoint + ": adam_m");
    load_array(checkpoint.arrays.at("adam_v"), trainer.optimizer().second_moment(), train.checkpoint + ": adam_v");
    trainer.optimizer().set_updates(checkpoint.counters.at("step"));
    return {1e-3 * static_cast<double>(checkpoint.counters.at("elapsed_ms")),
            io::has_attr(checkpoint.training, "init_from")
                ? io::attr_string(checkpoint.training, "init_from", train.checkpoint)
                : std::string()};
  }
  if (train.init_from.empty()) return {};
  // A next stage, or a start from a flow of other couplings or a smaller lattice: the parameters carry over, the
  // optimiser starts afresh; history times continue, since they are the training behind the model.
  const io::Checkpoint start = load_start_parameters(model, identity, train.init_from);
  // The training streams are keyed by (seed, step): the same seed would replay the earlier stage's samples.
  if (io::has_attr(start.rng, "seed") && io::attr_real(start.rng, "seed", train.init_from) == settings.run.seed) {
    throw InputError("train.init_from: " + train.init_from + " was trained with run.seed = " +
                     std::to_string(settings.run.seed) +
                     "; give this stage its own run.seed, so that its samples are independent of the earlier ones");
  }
  return {start.counters.count("elapsed_ms") ? 1e-3 * static_cast<double>(start.counters.at("elapsed_ms")) : 0.0,
          train.init_from};
}

/// The checkpoint of the current state: provenance, what the parameters mean, how they were optimised, the
/// parameters and Adam's moments, and the step and training time.
io::Checkpoint make_checkpoint(const io::Settings& settings, const io::Input& input, int n_ranks, flow::Model& model,
                               Trainer& trainer, const io::AttrList& identity, const io::AttrList& optimisation,
                               const std::string& init_from, double seconds) {
  io::Checkpoint checkpoint;
  checkpoint.root = io::provenance(input, n_ranks);
  checkpoint.model = identity;
  checkpoint.training = optimisation;
  checkpoint.training.emplace_back("steps_planned", std::int64_t{settings.train.steps});
  if (!init_from.empty()) checkpoint.training.emplace_back("init_from", init_from);
  checkpoint.rng = {{"generator", std::string("Philox4x32-10 (Random123)")},
                    {"seed", settings.run.seed},
                    {"key", std::string("(seed, purpose); counter (global sample, step, site pair)")}};
  checkpoint.arrays["parameters"] = to_vector(model.parameters());
  checkpoint.arrays["adam_m"] = to_vector(trainer.optimizer().first_moment());
  checkpoint.arrays["adam_v"] = to_vector(trainer.optimizer().second_moment());
  checkpoint.counters["step"] = trainer.steps_done();
  checkpoint.counters["elapsed_ms"] = static_cast<std::int64_t>(1e3 * seconds);
  return checkpoint;
}

}  // namespace

int train_command(const Environment& env, int argc, char** argv) {
  io::Settings settings;
  io::Input input;
  if (!io::parse_input("train", argc, argv, settings, input, env.rank() == 0)) return 0;
  const io::TrainConfig& train = settings.train;
  io::validate(settings.run);
  io::validate(train, env.size());
  io::validate(settings.parallel);
  const Communicator& comm = env.comm();
  comm.check_on_root([&] { check_memory(settings, "train", env.size(), env.ranks_on_node()); });
  const Lattice lattice(settings.lattice.L);
  const Phi4Action action(lattice, Couplings{settings.action.m2, settings.action.lam});
  const io::Settings model_settings = training_model_settings(settings);
  const std::unique_ptr<flow::Model> model = make_model(model_settings, lattice);
  if (train.gradient == "path" && !model->has_path_gradient()) {
    throw InputError("train.gradient = path is implemented for flow.model = equivariant_cnf only; use "
                     "train.gradient = total with flow.model = " + model->kind());
  }
  comm.check_on_root([&] { io::check_output_path("train.checkpoint", train.checkpoint, input.force, input.resume); });

  const std::unique_ptr<Reducer> reducer = make_reducer(settings.parallel.reducer, comm);
  Trainer trainer(*model, action, trainer_settings(settings), *reducer, comm.rank(), comm.size());
  const io::AttrList identity = model_identity(*model, model_settings);
  const io::AttrList optimisation = training_identity(model_settings);
  run::TrainingRunSettings run;
  const Start start = load_start(settings, input, *model, trainer, identity, optimisation);
  run.earlier_seconds = start.seconds;
  run.steps = train.steps;
  run.ess_every = train.ess_every;
  run.ess_samples = train.ess_samples;
  run.checkpoint_every = train.checkpoint_every;
  run.time_limit = train.time_limit;
  run.checkpoint = train.checkpoint;
  run.history = history_path(train.checkpoint);
  run.resume = input.resume;
  if (comm.root()) {
    std::printf("phi4flow train: %s on L = %d (m2 = %g, lam = %g), %zu parameters, batch %d on %d ranks (%s reducer), "
                "%d steps%s\n",
                model->kind().c_str(), lattice.extent(), settings.action.m2, settings.action.lam,
                model->parameters().extent(0), train.batch_size, comm.size(), reducer->name().c_str(), train.steps,
                input.resume ? (", resuming at step " + std::to_string(trainer.steps_done())).c_str() : "");
    std::fflush(stdout);
  }
  return run::run_training(comm, trainer, run, [&](double seconds) {
    io::write_checkpoint(train.checkpoint, make_checkpoint(settings, input, comm.size(), *model, trainer, identity,
                                                           optimisation, start.init_from, seconds));
  });
}

}  // namespace phi4flow::app
