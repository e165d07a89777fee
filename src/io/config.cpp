// INI + command-line parsing and validation of user input.
#include "phi4flow/io/config.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "phi4flow/error.hpp"

namespace phi4flow::io {

namespace fs = std::filesystem;

po::options_description all_keys(Settings& settings) {
  LatticeConfig& lattice = settings.lattice;
  ActionConfig& action = settings.action;
  RunConfig& run = settings.run;
  HmcConfig& hmc = settings.hmc;
  FlowConfig& flow = settings.flow;
  TrainConfig& train = settings.train;
  SampleConfig& sample = settings.sample;
  po::options_description physics("Lattice, action and run ([lattice], [action], [run] in the INI file)");
  physics.add_options()("lattice.L", po::value(&lattice.L)->required(),
                        "lattice extent L (periodic L x L lattice), L >= 2")(
      "action.m2", po::value(&action.m2)->required(), "bare mass squared m2 (the paper uses -4)")(
      "action.lam", po::value(&action.lam)->required(), "quartic coupling lam >= 0")(
      "run.seed", po::value(&run.seed)->required(),
      "random seed (0 .. 4294967295); every random number is a function of seed, purpose, chain and step")(
      "run.progress_interval", po::value(&run.progress_interval)->default_value(run.progress_interval),
      "seconds between progress lines on rank 0");

  po::options_description hmc_keys("HMC ([hmc] in the INI file; phi4flow hmc)");
  hmc_keys.add_options()("hmc.output", po::value(&hmc.output), "output ensemble file (HDF5); required by phi4flow hmc")(
      "hmc.trajectory_length", po::value(&hmc.trajectory_length)->default_value(hmc.trajectory_length),
      "molecular-dynamics time per trajectory")(
      "hmc.leapfrog_steps", po::value(&hmc.leapfrog_steps)->default_value(hmc.leapfrog_steps),
      "leapfrog steps per trajectory (step size = trajectory_length / leapfrog_steps)")(
      "hmc.thermalisation", po::value(&hmc.thermalisation)->default_value(hmc.thermalisation),
      "trajectories discarded before the first measurement")(
      "hmc.trajectories", po::value(&hmc.trajectories)->default_value(hmc.trajectories),
      "trajectories per chain after thermalisation")(
      "hmc.chains_per_rank", po::value(&hmc.chains_per_rank)->default_value(hmc.chains_per_rank),
      "independent chains on every MPI rank (run as one batch)")(
      "hmc.measure_every", po::value(&hmc.measure_every)->default_value(hmc.measure_every),
      "trajectories between stored configurations (thinning)")(
      "hmc.flush_every", po::value(&hmc.flush_every)->default_value(hmc.flush_every),
      "stored configurations per chain between flushes to disk (a kill loses at most one block)")(
      "hmc.store_fields", po::value(&hmc.store_fields)->default_value(hmc.store_fields),
      "store the field configurations (false: observables only)");

  po::options_description flow_keys("Flow model ([flow] in the INI file)");
  flow_keys.add_options()("flow.model", po::value(&flow.model)->default_value(flow.model),
                          "model: equivariant_cnf (the paper's) | realnvp (its baseline)")(
      "flow.time_basis", po::value(&flow.time_basis)->default_value(flow.time_basis),
      "A: hat functions of the time kernel (paper: 10)")("flow.frequencies",
                                                         po::value(&flow.frequencies)->default_value(flow.frequencies),
                                                         "F: learnable frequencies of the sin features (paper: 9)")(
      "flow.ode_steps", po::value(&flow.ode_steps)->default_value(flow.ode_steps),
      "fixed RK4 steps from t = 0 to 1 (paper: 50; a multiple of time_basis - 1, e.g. 54, is far more accurate)")(
      "flow.translation_only", po::value(&flow.translation_only)->default_value(flow.translation_only),
      "ablation: kernel equivariant under translations only (one parameter per displacement)")(
      "flow.sign_breaking", po::value(&flow.sign_breaking)->default_value(flow.sign_breaking),
      "ablation: features {sin, cos, 1} instead of sin (breaks phi -> -phi)")(
      "flow.sincos_precision", po::value(&flow.sincos_precision)->default_value(flow.sincos_precision),
      "double | single: precision of sin and cos of the features (single: faster steps, log q moves by ~1e-5)")(
      "flow.coupling_layers", po::value(&flow.coupling_layers)->default_value(flow.coupling_layers),
      "realnvp: affine coupling layers, checkerboard masks of alternating parity (paper: 16)")(
      "flow.hidden_layers", po::value(&flow.hidden_layers)->default_value(flow.hidden_layers),
      "realnvp: hidden convolutions of each coupling network (paper: 2)")(
      "flow.hidden_channels", po::value(&flow.hidden_channels)->default_value(flow.hidden_channels),
      "realnvp: channels of each hidden convolution (paper: 8)")(
      "flow.kernel_size", po::value(&flow.kernel_size)->default_value(flow.kernel_size),
      "realnvp: odd side of the periodic convolution kernels (paper: 3)");

  po::options_description train_keys("Training ([train] in the INI file; phi4flow train)");
  train_keys.add_options()("train.checkpoint", po::value(&train.checkpoint),
                           "checkpoint file (HDF5); required by phi4flow train")(
      "train.steps", po::value(&train.steps)->default_value(train.steps), "optimisation steps in all")(
      "train.batch_size", po::value(&train.batch_size)->default_value(train.batch_size),
      "global batch: every rank draws its share of it")("train.lr", po::value(&train.lr)->default_value(train.lr),
                                                        "initial Adam learning rate")(
      "train.lr_schedule", po::value(&train.lr_schedule)->default_value(train.lr_schedule),
      "constant | step (lr * lr_step_factor from lr_step_at on; the paper's) | exponential (tenfold decay "
      "every lr_decade_steps)")("train.lr_step_at", po::value(&train.lr_step_at)->default_value(train.lr_step_at),
                                "step schedule: step at which lr drops")(
      "train.lr_step_factor", po::value(&train.lr_step_factor)->default_value(train.lr_step_factor),
      "step schedule: factor applied to lr")("train.lr_decade_steps",
                                             po::value(&train.lr_decade_steps)->default_value(train.lr_decade_steps),
                                             "exponential schedule: steps over which lr falls tenfold")(
      "train.lr_warmup_steps", po::value(&train.lr_warmup_steps)->default_value(train.lr_warmup_steps),
      "lr rises linearly over the first this many steps (0: none); for a start from a trained model")(
      "train.ode_steps", po::value(&train.ode_steps)->default_value(train.ode_steps),
      "RK4 steps of the flow while training (0: flow.ode_steps); fewer train faster, sampling uses flow.ode_steps")(
      "train.gradient", po::value(&train.gradient)->default_value(train.gradient),
      "reverse-KL gradient estimator: total (the loss's derivative) | path (through the samples only: less noise "
      "as the flow nears the target; equivariant_cnf only)")(
      "train.beta1", po::value(&train.beta1)->default_value(train.beta1), "Adam beta1 (paper: 0.9)")(
      "train.beta2", po::value(&train.beta2)->default_value(train.beta2), "Adam beta2 (paper: 0.999)")(
      "train.adam_epsilon", po::value(&train.adam_epsilon)->default_value(train.adam_epsilon), "Adam epsilon")(
      "train.ess_every", po::value(&train.ess_every)->default_value(train.ess_every),
      "steps between ESS estimates on fresh samples (progress line and history)")(
      "train.ess_samples", po::value(&train.ess_samples)->default_value(train.ess_samples),
      "fresh samples per ESS estimate, over all ranks")(
      "train.checkpoint_every", po::value(&train.checkpoint_every)->default_value(train.checkpoint_every),
      "steps between checkpoints (one is always written at the end)")(
      "train.time_limit", po::value(&train.time_limit)->default_value(train.time_limit),
      "wall-clock seconds after which training checkpoints and stops (0: none); for fixed-budget comparisons")(
      "train.init_from", po::value(&train.init_from),
      "start a new run from this checkpoint's parameters, with a fresh optimiser at step 0: a next stage of "
      "training with other settings (a larger batch, another schedule); ignored by --resume");

  po::options_description sample_keys(
      "Flow Metropolis-Hastings ([sample] in the INI file; phi4flow sample, model from train.checkpoint or "
      "--checkpoint)");
  sample_keys.add_options()("sample.output", po::value(&sample.output),
                            "output ensemble file (HDF5); required by phi4flow sample")(
      "sample.chains_per_rank", po::value(&sample.chains_per_rank)->default_value(sample.chains_per_rank),
      "independent Metropolis-Hastings chains on every MPI rank")(
      "sample.thermalisation", po::value(&sample.thermalisation)->default_value(sample.thermalisation),
      "MH steps discarded before the first record")(
      "sample.steps", po::value(&sample.steps)->default_value(sample.steps), "MH steps per chain after thermalisation")(
      "sample.measure_every", po::value(&sample.measure_every)->default_value(sample.measure_every),
      "MH steps between records (thinning)")(
      "sample.flush_every", po::value(&sample.flush_every)->default_value(sample.flush_every),
      "records per chain between flushes to disk (a kill loses at most one block)")(
      "sample.batch_size", po::value(&sample.batch_size)->default_value(sample.batch_size),
      "proposals per flow evaluation on each rank (speed and memory only; the chains do not depend on it)")(
      "sample.store_fields", po::value(&sample.store_fields)->default_value(sample.store_fields),
      "store the chains' field configurations (false: observables only)");

  po::options_description all;
  all.add(physics).add(hmc_keys).add(flow_keys).add(train_keys).add(sample_keys);
  return all;
}

namespace {

std::string join_arguments(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) line += (i ? " " : "") + std::string(argv[i]);
  return line;
}

}  // namespace

bool parse_input(const std::string& command, int argc, char** argv, Settings& settings, Input& input, bool print_help,
                 const po::options_description& extra) {
  const po::options_description keys = all_keys(settings);
  po::options_description flags("Command flags");
  flags.add_options()("help,h", "list every key with its meaning and default")(
      "config,c", po::value(&input.config_path), "INI input file (keys as [section] key = value)")(
      "force", po::bool_switch(&input.force), "overwrite an existing output file")(
      "resume", po::bool_switch(&input.resume), "continue the run stored in the existing output file");
  if (!extra.options().empty()) flags.add(extra);
  po::options_description all;
  all.add(flags).add(keys);
  input.command_line = join_arguments(argc, argv);

  const std::string help_hint = "; 'phi4flow " + command + " --help' lists every key";
  try {
    po::store(po::command_line_parser(argc, argv).options(all).run(), input.values);
  } catch (const po::error& e) {
    throw InputError(std::string("command line: ") + e.what() + help_hint);
  }
  if (input.values.count("help")) {
    if (print_help) std::cout << "Usage: phi4flow " << command << " --config FILE [--section.key=value ...]\n\n" << all;
    return false;
  }
  if (!input.values.count("config")) {
    throw InputError("no input file: give --config FILE (examples in input/)" + help_hint);
  }
  input.config_path = input.values["config"].as<std::string>();
  std::ifstream file(input.config_path);
  if (!file) throw InputError("input file '" + input.config_path + "' cannot be read: check the path");
  std::stringstream text;
  text << file.rdbuf();
  input.config_text = text.str();
  try {
    std::istringstream stream(input.config_text);
    po::store(po::parse_config_file(stream, keys, false), input.values);
    po::notify(input.values);
  } catch (const po::error& e) {
    throw InputError(input.config_path + ": " + e.what() + help_hint);
  }
  if (input.force && input.resume) throw InputError("--force and --resume exclude each other: choose one");
  return true;
}

void check_output_path(const std::string& key, const std::string& path, bool force, bool resume) {
  const fs::path file(path);
  fs::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir) || ::access(dir.c_str(), W_OK) != 0) {
    throw InputError(key + " = " + path + ": directory '" + dir.string() +
                     "' cannot be created or is not writable: choose another path");
  }
  const bool exists = fs::exists(file);
  if (resume && !exists) throw InputError(key + " = " + path + " does not exist, so --resume has nothing to continue");
  if (exists && !force && !resume) {
    throw InputError(key + " = " + path +
                     " exists: pass --resume to continue it, --force to overwrite it, or choose another path");
  }
}

void validate(const RunConfig& run) {
  if (run.seed < 0 || run.seed > 4294967295LL) {
    throw InputError("run.seed = " + std::to_string(run.seed) + ": use an integer in 0 .. 4294967295");
  }
  if (!(run.progress_interval > 0.0)) throw InputError("run.progress_interval must be > 0 seconds");
}

void validate(const HmcConfig& hmc) {
  if (hmc.output.empty()) throw InputError("hmc.output is not set: name the ensemble file to write");
  const auto positive = [](const std::string& key, double value) {
    if (!(value > 0)) throw InputError("hmc." + key + " = " + std::to_string(value) + ": must be > 0");
  };
  positive("trajectory_length", hmc.trajectory_length);
  positive("leapfrog_steps", hmc.leapfrog_steps);
  positive("trajectories", hmc.trajectories);
  positive("chains_per_rank", hmc.chains_per_rank);
  positive("measure_every", hmc.measure_every);
  positive("flush_every", hmc.flush_every);
  if (hmc.thermalisation < 0) throw InputError("hmc.thermalisation must be >= 0");
}

void validate(const TrainConfig& train, int n_ranks) {
  if (train.checkpoint.empty()) throw InputError("train.checkpoint is not set: name the checkpoint file to write");
  const auto positive = [](const std::string& key, double value) {
    if (!(value > 0)) throw InputError("train." + key + " = " + std::to_string(value) + ": must be > 0");
  };
  positive("steps", train.steps);
  positive("lr", train.lr);
  positive("lr_step_at", train.lr_step_at);
  positive("lr_step_factor", train.lr_step_factor);
  positive("lr_decade_steps", train.lr_decade_steps);
  if (train.lr_warmup_steps < 0) throw InputError("train.lr_warmup_steps must be >= 0 (0: no warm-up)");
  if (train.ode_steps < 0) throw InputError("train.ode_steps must be >= 0 (0: train with flow.ode_steps)");
  positive("adam_epsilon", train.adam_epsilon);
  positive("ess_every", train.ess_every);
  positive("checkpoint_every", train.checkpoint_every);
  if (train.time_limit < 0) throw InputError("train.time_limit must be >= 0 seconds (0: no limit)");
  if (train.batch_size < n_ranks) {
    throw InputError("train.batch_size = " + std::to_string(train.batch_size) + " is smaller than the " +
                     std::to_string(n_ranks) + " MPI ranks: every rank needs at least one sample");
  }
  if (train.ess_samples < n_ranks) {
    throw InputError("train.ess_samples = " + std::to_string(train.ess_samples) + ": needs at least one per rank");
  }
  for (const auto& [key, beta] : {std::pair<std::string, double>{"beta1", train.beta1}, {"beta2", train.beta2}}) {
    if (!(beta >= 0.0 && beta < 1.0))
      throw InputError("train." + key + " = " + std::to_string(beta) + ": use 0 <= beta < 1");
  }
  if (train.gradient != "total" && train.gradient != "path") {
    throw InputError("train.gradient = '" + train.gradient + "': use total or path");
  }
  if (train.lr_schedule != "constant" && train.lr_schedule != "step" && train.lr_schedule != "exponential") {
    throw InputError("train.lr_schedule = '" + train.lr_schedule + "': use constant, step or exponential");
  }
}

void validate(const SampleConfig& sample) {
  if (sample.output.empty()) throw InputError("sample.output is not set: name the ensemble file to write");
  const auto positive = [](const std::string& key, int value) {
    if (value <= 0) throw InputError("sample." + key + " = " + std::to_string(value) + ": must be > 0");
  };
  positive("chains_per_rank", sample.chains_per_rank);
  positive("steps", sample.steps);
  positive("measure_every", sample.measure_every);
  positive("flush_every", sample.flush_every);
  positive("batch_size", sample.batch_size);
  if (sample.thermalisation < 0) throw InputError("sample.thermalisation must be >= 0");
}

}  // namespace phi4flow::io
