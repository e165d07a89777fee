// INI + command-line parsing and validation of user input.
#include "phi4flow/io/config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <typeinfo>
#include <vector>

#include "phi4flow/error.hpp"
#include "phi4flow/parallel/make_reducer.hpp"

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
  ParallelConfig& parallel = settings.parallel;
  po::options_description physics("Lattice, action and run ([lattice], [action], [run] in the INI file)");
  physics.add_options()("lattice.L", po::value(&lattice.L)->required(),
                        "lattice extent L (periodic L x L lattice), L >= 2")(
      "action.m2", po::value(&action.m2)->required(), "bare mass squared m2 (the paper uses -4)")(
      "action.lam", po::value(&action.lam)->required(), "quartic coupling lam >= 0")(
      "run.seed", po::value(&run.seed)->required(),
      "random seed (0 .. 4294967295); every random number is a function of seed, purpose, chain and step")(
      "run.progress_interval", po::value(&run.progress_interval)->default_value(run.progress_interval),
      "seconds between progress lines on rank 0")(
      "run.first_chain", po::value(&run.first_chain)->default_value(run.first_chain),
      "hmc, sample: global id of the first chain (a job array's task i: i x its chain count); the ids key the "
      "chains' random streams, and phi4flow merge joins files of disjoint ids");

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
      "flow.linear_term", po::value(&flow.linear_term)->default_value(flow.linear_term),
      "equivariant_cnf: phi itself as one more feature beside sin(omega phi) (Gerdes et al. 2023; off until measured)")(
      "flow.frequency_init", po::value(&flow.frequency_init)->default_value(flow.frequency_init),
      "equivariant_cnf: initial frequencies, normal (N(0,1), the paper) or uniform (U(0,5), Gerdes et al. 2023)")(
      "flow.time_bond", po::value(&flow.time_bond)->default_value(flow.time_bond),
      "equivariant_cnf: a learned matrix mixes the time_basis hat functions down to this many channels (Gerdes et al. "
      "2023's bond; 0: off)")(
      "flow.feature_bond", po::value(&flow.feature_bond)->default_value(flow.feature_bond),
      "equivariant_cnf: a learned matrix mixes the features down to this many channels (0: off)")(
      "flow.fourier_time", po::value(&flow.fourier_time)->default_value(flow.fourier_time),
      "equivariant_cnf: the time kernel as this many Fourier functions 1, sin(pi t), cos(pi t), ... taken at the "
      "time_basis nodes (Gerdes et al. 2023; 0: hat functions alone)")(
      "flow.fft_planning", po::value(&flow.fft_planning)->default_value(flow.fft_planning),
      "estimate | measure: how FFTW picks its plans on CPUs (measure: 5-15% faster steps after a few seconds of "
      "planning, but the plan, and so the rounding, can differ between runs: results are then reproducible only to "
      "rounding, and a resumed run is not bit-identical)")(
      "flow.precision", po::value(&flow.precision)->default_value(flow.precision),
      "double | single: precision of the flow's fields, features, FFTs and adjoint (single: about twice as fast on "
      "CPUs; log q, the action and the gradient are summed in double; solver-error measures the difference)")(
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
      "training with other settings (a larger batch, another schedule), or a flow of a smaller lattice; ignored "
      "by --resume. In the input file relative to its folder (input/L20.ini and L32.ini start from models/), on "
      "the command line to the working directory; none: start from the model's initialisation");

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
      "sample.shipped_model", po::value(&sample.shipped_model),
      "trained model to sample when there is no --checkpoint and no file at train.checkpoint (the input files name "
      "the one in models/; in the input file relative to its folder, on the command line to the working "
      "directory; none: no such model)")(
      "sample.store_fields", po::value(&sample.store_fields)->default_value(sample.store_fields),
      "store the chains' field configurations (false: observables only)");

  po::options_description parallel_keys("Parallel ([parallel] in the INI file)");
  parallel_keys.add_options()("parallel.reducer", po::value(&parallel.reducer)->default_value(parallel.reducer),
                              "how training sums gradients over the ranks: auto (nccl on a CUDA build with more "
                              "than one rank, each on its own GPU; else mpi) | mpi | nccl (GPU to GPU; needs a build "
                              "with NCCL and one GPU per rank)");

  po::options_description all;
  all.add(physics).add(hmc_keys).add(flow_keys).add(train_keys).add(sample_keys).add(parallel_keys);
  return all;
}

namespace {

std::string join_arguments(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) line += (i ? " " : "") + std::string(argv[i]);
  return line;
}

/// A value as the user would write it: integers as integers, reals in the shortest form that keeps 10 digits.
template <class T>
std::string show(T value) {
  std::ostringstream out;
  out.precision(10);
  out << value;
  return out.str();
}

/// Every real-valued key, of the file, of the command line and of a command's own flags, must be finite: an
/// inf or nan parses as a double, and a chain or a training run built on it never does anything useful. Walks
/// the parsed values, so that a key added later is checked without being listed here.
void require_finite_reals(const po::variables_map& values) {
  for (const auto& [name, variable] : values) {
    const auto& value = variable.value();
    double x = 0.0;
    if (value.type() == typeid(double)) {
      x = boost::any_cast<double>(value);
    } else if (value.type() == typeid(float)) {
      x = boost::any_cast<float>(value);
    } else {
      continue;
    }
    if (!std::isfinite(x)) throw InputError(name + " = " + show(x) + ": must be a finite number");
  }
}

/// "key = value: must be > 0", the value printed as the type it has.
template <class T>
void require_positive(const std::string& key, T value) {
  if (!(value > 0)) throw InputError(key + " = " + show(value) + ": must be > 0");
}

template <class T>
void require_non_negative(const std::string& key, T value, const std::string& meaning = "") {
  if (!(value >= 0)) throw InputError(key + " = " + show(value) + ": must be >= 0" + meaning);
}

/// Name of this process, unique across the hosts of a job: the probe file of check_output_path.
std::string process_tag() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "host");
  return std::string(host) + "." + std::to_string(::getpid());
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
  // Keys that were renamed: the error says what replaced them.
  const auto hint_for = [&](const std::string& message) {
    if (message.find("sincos_precision") != std::string::npos)
      return "; flow.sincos_precision was replaced by flow.precision = double | single (single now runs the whole "
             "flow in float, not only sin and cos)" + help_hint;
    return help_hint;
  };
  try {
    po::store(po::command_line_parser(argc, argv).options(all).run(), input.values);
  } catch (const po::error& e) {
    throw InputError(std::string("command line: ") + e.what() + hint_for(e.what()));
  }
  // Keys that name a trained model: the input files name those in models/, relative to the input file's folder,
  // so that they work from any directory; given on the command line, a path is the working directory's.
  struct ModelPath {
    std::string* path;
    bool on_command_line;
  };
  const std::vector<ModelPath> model_paths = {
      {&settings.train.init_from, input.values.count("train.init_from") > 0},
      {&settings.sample.shipped_model, input.values.count("sample.shipped_model") > 0}};
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
    throw InputError(input.config_path + ": " + e.what() + hint_for(e.what()));
  }
  for (const ModelPath& key : model_paths) {
    std::string& path = *key.path;
    if (path == "none") {
      path.clear();  // the command line's way to unset the input file's model (Boost refuses an empty value)
    } else if (!key.on_command_line && !path.empty() && fs::path(path).is_relative()) {
      path = (fs::path(input.config_path).parent_path() / path).lexically_normal().string();
    }
  }
  require_finite_reals(input.values);
  if (input.force && input.resume) throw InputError("--force and --resume exclude each other: choose one");
  return true;
}

void check_output_path(const std::string& key, const std::string& path, bool force, bool resume) {
  const auto refuse = [&](const std::string& why) { throw InputError(key + " = " + path + ": " + why); };
  if (path.empty()) throw InputError(key + " is empty: name the file to write");
  const fs::path file(path);
  fs::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  // The run writes into this directory but creates no directory itself: it is made here, as the run needs it.
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) {
    refuse("directory '" + dir.string() + "' does not exist and cannot be created" +
           (ec ? " (" + ec.message() + ")" : std::string()) + ": choose another path");
  }
  if (fs::is_directory(file)) refuse("is a directory: name a file in it");
  const bool exists = fs::exists(file);
  if (resume && !exists) refuse("does not exist, so --resume has nothing to continue");
  if (exists && !force && !resume) {
    refuse("exists: pass --resume to continue it, --force to overwrite it, or choose another path");
  }
  // Try what the run will do: every writer builds its file under a temporary name beside it and renames it into
  // place, so a file must be creatable, writable and removable in the directory. Access bits are not enough
  // (root passes them on /proc, a read-only mount or a full quota fails only when written).
  const std::string probe = (dir / ("." + file.filename().string() + ".probe." + process_tag())).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    refuse("cannot create a file in directory '" + dir.string() + "' (" + std::strerror(errno) +
           "): choose a writable directory");
  }
  const char byte = 0;
  const bool written = ::write(fd, &byte, 1) == 1;
  const int write_errno = errno;
  const bool closed = ::close(fd) == 0;
  const int close_errno = errno;
  const bool removed = ::unlink(probe.c_str()) == 0;
  if (!written || !closed) {
    refuse("cannot write a file in directory '" + dir.string() + "' (" +
           std::strerror(written ? close_errno : write_errno) + "): choose a writable directory");
  }
  if (!removed) {
    refuse("cannot remove the probe file '" + probe + "' (" + std::strerror(errno) +
           "): choose a directory where files can be replaced");
  }
  // --resume opens the existing file for writing (an ensemble is appended to in place).
  if (resume) {
    const int existing = ::open(path.c_str(), O_RDWR);
    if (existing < 0) refuse(std::string("cannot be opened for writing (") + std::strerror(errno) + "): check its permissions");
    ::close(existing);
  }
}

void validate(const RunConfig& run) {
  if (run.seed < 0 || run.seed > 4294967295LL) {
    throw InputError("run.seed = " + show(run.seed) + ": use an integer in 0 .. 4294967295");
  }
  require_positive("run.progress_interval", run.progress_interval);
  if (run.first_chain < 0 || run.first_chain > 2147483647LL)
    throw InputError("run.first_chain = " + show(run.first_chain) + ": use an integer in 0 .. 2147483647");
}

void validate(const HmcConfig& hmc) {
  if (hmc.output.empty()) throw InputError("hmc.output is not set: name the ensemble file to write");
  require_positive("hmc.trajectory_length", hmc.trajectory_length);
  require_positive("hmc.leapfrog_steps", hmc.leapfrog_steps);
  require_positive("hmc.trajectories", hmc.trajectories);
  require_positive("hmc.chains_per_rank", hmc.chains_per_rank);
  require_positive("hmc.measure_every", hmc.measure_every);
  require_positive("hmc.flush_every", hmc.flush_every);
  require_non_negative("hmc.thermalisation", hmc.thermalisation);
}

void validate(const TrainConfig& train, int n_ranks) {
  if (train.checkpoint.empty()) throw InputError("train.checkpoint is not set: name the checkpoint file to write");
  require_positive("train.steps", train.steps);
  require_positive("train.lr", train.lr);
  require_positive("train.lr_step_at", train.lr_step_at);
  require_positive("train.lr_step_factor", train.lr_step_factor);
  require_positive("train.lr_decade_steps", train.lr_decade_steps);
  require_non_negative("train.lr_warmup_steps", train.lr_warmup_steps, " (0: no warm-up)");
  require_non_negative("train.ode_steps", train.ode_steps, " (0: train with flow.ode_steps)");
  require_positive("train.adam_epsilon", train.adam_epsilon);
  require_positive("train.ess_every", train.ess_every);
  require_positive("train.checkpoint_every", train.checkpoint_every);
  require_non_negative("train.time_limit", train.time_limit, " seconds (0: no limit)");
  // The batch may split unevenly over the ranks (the trainer gives every rank a share of floor or ceil of
  // batch_size / ranks); it only needs one sample per rank.
  if (train.batch_size < n_ranks) {
    throw InputError("train.batch_size = " + show(train.batch_size) + " is smaller than the " + show(n_ranks) +
                     " MPI ranks: every rank needs at least one sample");
  }
  if (train.ess_samples < n_ranks) {
    throw InputError("train.ess_samples = " + show(train.ess_samples) + ": needs at least one per rank (" +
                     show(n_ranks) + (n_ranks == 1 ? " rank)" : " ranks)"));
  }
  for (const auto& [key, beta] : {std::pair<std::string, double>{"beta1", train.beta1}, {"beta2", train.beta2}}) {
    if (!(beta >= 0.0 && beta < 1.0)) throw InputError("train." + key + " = " + show(beta) + ": use 0 <= beta < 1");
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
  require_positive("sample.chains_per_rank", sample.chains_per_rank);
  require_positive("sample.steps", sample.steps);
  require_positive("sample.measure_every", sample.measure_every);
  require_positive("sample.flush_every", sample.flush_every);
  require_positive("sample.batch_size", sample.batch_size);
  require_non_negative("sample.thermalisation", sample.thermalisation);
}

void validate(const ParallelConfig& parallel) {
  check_reducer_choice(parallel.reducer);
}

}  // namespace phi4flow::io
