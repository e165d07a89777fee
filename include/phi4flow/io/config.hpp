// Run configuration: one INI input file per lattice serves every command (hmc, train, ...), plus
// command-line overrides of the same keys (Boost.Program_options). Keys are "section.key"; in the INI file
// they sit under [section]. Every command accepts every key, and checks those it uses before any work.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <string>

namespace phi4flow::io {

namespace po = boost::program_options;

struct LatticeConfig {
  int L = 0;
};

struct ActionConfig {
  double m2 = 0.0;
  double lam = 0.0;
};

struct RunConfig {
  std::int64_t seed = -1;           ///< checked to fit the generator's 32-bit key
  /// hmc, sample: the global id of the run's first chain; chain first_chain + i keys its own random streams, so
  /// the tasks of a job array with disjoint ranges sample independent chains of one ensemble (phi4flow merge)
  std::int64_t first_chain = 0;
  double progress_interval = 10.0;  ///< seconds between progress lines on rank 0
};

struct HmcConfig {
  std::string output;
  double trajectory_length = 1.0;
  int leapfrog_steps = 10;
  int thermalisation = 1000;
  int trajectories = 10000;
  int chains_per_rank = 1;
  int measure_every = 1;
  int flush_every = 500;
  bool store_fields = true;
};

struct FlowConfig {
  std::string model = "equivariant_cnf";
  int time_basis = 10;
  int frequencies = 9;
  int ode_steps = 50;
  bool translation_only = false;
  bool sign_breaking = false;
  bool linear_term = false;                 ///< equivariant_cnf: phi as one more feature (follow-up paper)
  std::string frequency_init = "normal";  ///< equivariant_cnf: normal (N(0,1)) | uniform (U(0,5), follow-up paper)
  int time_bond = 0;     ///< equivariant_cnf: channels the time functions are mixed to (0: no bond matrix)
  int feature_bond = 0;  ///< equivariant_cnf: channels the features are mixed to (0: no bond matrix)
  int fourier_time = 0;  ///< equivariant_cnf: Fourier functions of the time kernel (0: hat functions alone)
  std::string precision = "double";  ///< equivariant_cnf: "single" integrates the flow in float (flow.md)
  std::string fft_planning = "estimate";  ///< equivariant_cnf on CPUs: "measure" lets FFTW time its plans
  // realnvp
  int coupling_layers = 16;
  int hidden_layers = 2;
  int hidden_channels = 8;
  int kernel_size = 3;
};

struct TrainConfig {
  std::string checkpoint;
  int steps = 2000;
  int batch_size = 100;
  double lr = 5e-3;
  std::string lr_schedule = "exponential";
  int lr_step_at = 250;  ///< "step" schedule: lr * lr_step_factor from this step on
  double lr_step_factor = 0.1;
  int lr_decade_steps = 4000;  ///< "exponential" schedule: steps over which lr falls tenfold
  int lr_warmup_steps = 0;     ///< lr rises linearly over the first this many steps (0: none)
  int ode_steps = 0;  ///< RK4 steps while training; 0: flow.ode_steps (sampling always uses flow.ode_steps)
  std::string gradient = "total";  ///< reverse-KL gradient estimator: total | path (flow::GradientEstimator)
  double beta1 = 0.8;
  double beta2 = 0.9;
  double adam_epsilon = 1e-8;
  int ess_every = 100;
  int ess_samples = 1000;
  int checkpoint_every = 200;
  double time_limit = 0.0;  ///< seconds of training after which to checkpoint and stop; 0: no limit
  /// A new run starts from this checkpoint's parameters (fresh optimiser, step 0). Like sample.shipped_model, a
  /// relative path in the input file is relative to its folder (io::parse_input resolves both); "none" unsets it.
  std::string init_from;
};

struct SampleConfig {
  std::string output;
  int chains_per_rank = 1;
  int thermalisation = 100;  ///< MH steps before the first record (the chain starts from its first proposal)
  int steps = 10000;         ///< MH steps per chain after thermalisation
  int measure_every = 1;
  int flush_every = 500;
  int batch_size = 64;  ///< proposals drawn by one flow call (memory and speed only: results do not change)
  bool store_fields = true;
  /// A trained model that ships with phi4flow (models/), sampled when there is neither --checkpoint nor a file at
  /// train.checkpoint; a relative path in the input file is relative to its folder, on the command line to the
  /// working directory.
  std::string shipped_model;
};

struct ParallelConfig {
  /// How training sums over the ranks: auto | mpi | nccl (parallel/make_reducer.hpp)
  std::string reducer = "auto";
};

/// Every section of the input file.
struct Settings {
  LatticeConfig lattice;
  ActionConfig action;
  RunConfig run;
  HmcConfig hmc;
  FlowConfig flow;
  TrainConfig train;
  SampleConfig sample;
  ParallelConfig parallel;
};

/// Everything a command read from its input, for validation and for the output's provenance.
struct Input {
  std::string config_path;
  std::string config_text;   ///< the INI file as read
  std::string command_line;  ///< argv joined
  bool force = false;        ///< overwrite an existing output
  bool resume = false;       ///< append to / continue from an existing output
  po::variables_map values;
};

/// \brief Every key of every section, bound to the fields of `settings`.
po::options_description all_keys(Settings& settings);

/// \brief Parse `phi4flow <command> --config FILE [--section.key=value ...] [--force] [--resume]` plus the
/// command's own `extra` flags. Command-line values override the file. Returns false if --help was given (help
/// is then printed if `print_help`). Throws InputError naming the key or file for unknown keys, malformed
/// values, missing required keys, unreadable files, and any real-valued key (of every section and of `extra`)
/// that is not finite (inf, nan).
bool parse_input(const std::string& command, int argc, char** argv, Settings& settings, Input& input, bool print_help,
                 const po::options_description& extra = po::options_description());

/// \brief Checks of an output path before any work, by trying what the run will do: the parent directory exists
/// (created if needed, as the run needs it); a probe file can be created, written and removed beside the output
/// (the writers build their files under a temporary name there and rename them into place); an existing file
/// needs --force or --resume; --resume needs an existing file that opens for writing. Throws InputError naming
/// `key`. Safe to call on every rank at once (the probe's name holds host and process id).
void check_output_path(const std::string& key, const std::string& path, bool force, bool resume);

/// \brief Range checks of one section; throws InputError naming the key and the fix. Lattice and action keys
/// are checked by the Lattice and Phi4Action constructors, flow keys by the model's constructor.
void validate(const RunConfig& run);
void validate(const HmcConfig& hmc);
void validate(const TrainConfig& train, int n_ranks);
void validate(const SampleConfig& sample);
/// \brief parallel.reducer: auto, mpi or nccl, and nccl only on a build with NCCL (check_reducer_choice).
void validate(const ParallelConfig& parallel);

}  // namespace phi4flow::io
