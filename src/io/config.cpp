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

po::options_description common_keys(LatticeConfig& lattice, ActionConfig& action, RunConfig& run) {
  po::options_description keys("Lattice, action and run keys ([lattice], [action], [run] in the INI file)");
  keys.add_options()
      ("lattice.L", po::value(&lattice.L)->required(), "lattice extent L (periodic L x L lattice), L >= 2")
      ("action.m2", po::value(&action.m2)->required(), "bare mass squared m2 (the paper uses -4)")
      ("action.lam", po::value(&action.lam)->required(), "quartic coupling lam >= 0")
      ("run.seed", po::value(&run.seed)->required(),
       "random seed (0 .. 4294967295); every random number is a function of seed, purpose, chain and step")
      ("run.output", po::value(&run.output)->required(), "output HDF5 file")
      ("run.progress_interval", po::value(&run.progress_interval)->default_value(run.progress_interval),
       "seconds between progress lines on rank 0");
  return keys;
}

po::options_description hmc_keys(HmcConfig& hmc) {
  po::options_description keys("HMC keys ([hmc] in the INI file)");
  keys.add_options()
      ("hmc.trajectory_length", po::value(&hmc.trajectory_length)->default_value(hmc.trajectory_length),
       "molecular-dynamics time per trajectory")
      ("hmc.leapfrog_steps", po::value(&hmc.leapfrog_steps)->default_value(hmc.leapfrog_steps),
       "leapfrog steps per trajectory (step size = trajectory_length / leapfrog_steps)")
      ("hmc.thermalisation", po::value(&hmc.thermalisation)->default_value(hmc.thermalisation),
       "trajectories discarded before the first measurement")
      ("hmc.trajectories", po::value(&hmc.trajectories)->default_value(hmc.trajectories),
       "trajectories per chain after thermalisation")
      ("hmc.chains_per_rank", po::value(&hmc.chains_per_rank)->default_value(hmc.chains_per_rank),
       "independent chains on every MPI rank (run as one batch)")
      ("hmc.measure_every", po::value(&hmc.measure_every)->default_value(hmc.measure_every),
       "trajectories between stored configurations (thinning)")
      ("hmc.flush_every", po::value(&hmc.flush_every)->default_value(hmc.flush_every),
       "stored configurations per chain between flushes to disk (a kill loses at most one block)")
      ("hmc.store_fields", po::value(&hmc.store_fields)->default_value(hmc.store_fields),
       "store the field configurations (false: observables only)");
  return keys;
}

namespace {

std::string join_arguments(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) line += (i ? " " : "") + std::string(argv[i]);
  return line;
}

}  // namespace

bool parse_input(const std::string& command, int argc, char** argv, const po::options_description& keys,
                 Input& input, bool print_help) {
  po::options_description flags("Command flags");
  flags.add_options()
      ("help,h", "list every key with its meaning and default")
      ("config,c", po::value(&input.config_path), "INI input file (keys as [section] key = value)")
      ("force", po::bool_switch(&input.force), "overwrite an existing output file")
      ("resume", po::bool_switch(&input.resume), "continue the run stored in the existing output file");
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

}  // namespace phi4flow::io
