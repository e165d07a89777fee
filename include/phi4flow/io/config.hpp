// Run configuration: INI input files plus command-line overrides of the same keys (Boost.Program_options),
// checked where they enter. Keys are "section.key"; in the INI file they sit under [section].
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <string>
#include <vector>

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
  std::int64_t seed = -1;  ///< checked to fit the generator's 32-bit key
  std::string output;
  double progress_interval = 10.0;  ///< seconds between progress lines on rank 0
};

struct HmcConfig {
  double trajectory_length = 1.0;
  int leapfrog_steps = 10;
  int thermalisation = 1000;
  int trajectories = 10000;
  int chains_per_rank = 1;
  int measure_every = 1;
  int flush_every = 500;
  bool store_fields = true;
};

/// Everything a command read from its input, for validation and for the output's provenance.
struct Input {
  std::string config_path;
  std::string config_text;   ///< the INI file as read
  std::string command_line;  ///< argv joined
  bool force = false;        ///< overwrite an existing output
  bool resume = false;       ///< append to an existing output
  po::variables_map values;
};

/// \brief Keys of the [lattice], [action] and [run] sections, bound to the given structs.
po::options_description common_keys(LatticeConfig& lattice, ActionConfig& action, RunConfig& run);
/// \brief Keys of the [hmc] section.
po::options_description hmc_keys(HmcConfig& hmc);

/// \brief Parse `phi4flow <command> --config FILE [--section.key=value ...] [--force] [--resume]`.
/// Command-line values override the file. Returns false if --help was given (help is then printed on
/// `print_help`). Throws InputError naming the key or file for unknown keys, malformed values, missing
/// required keys and unreadable files.
bool parse_input(const std::string& command, int argc, char** argv, const po::options_description& keys,
                 Input& input, bool print_help);

/// \brief Checks of an output path before any work: parent directory exists (created if needed) and is
/// writable; an existing file needs --force or --resume; --resume needs an existing file. Throws InputError.
void check_output_path(const std::string& key, const std::string& path, bool force, bool resume);

/// \brief Range checks of the [run] and [hmc] keys; throws InputError naming the key and the fix. The lattice
/// and action keys are checked by the Lattice and Phi4Action constructors, which the commands build first.
void validate(const RunConfig& run);
void validate(const HmcConfig& hmc);

}  // namespace phi4flow::io
