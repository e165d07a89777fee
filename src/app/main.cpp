// phi4flow <command> [options]: the one executable. Parses the command, runs it, and turns exceptions into
// one clear message: input errors (seen alike by every rank) exit with status 2 on every rank; other
// failures abort all ranks rather than leaving the rest hanging in a collective call.
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <string>

#include "commands.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/run/stop_request.hpp"
#include "phi4flow/version.hpp"

namespace {

void usage() {
  std::printf(
      "phi4flow %s (%s): ensembles of 2D phi^4 theory\n\n"
      "Usage: phi4flow <command> [options]   (phi4flow <command> --help for its keys)\n\n"
      "Commands:\n"
      "  hmc      generate an HMC ensemble       phi4flow hmc --config input/quickstart.ini\n"
      "  train    train a flow by reverse KL     phi4flow train --config input/L6.ini\n"
      "  sample   flow Metropolis-Hastings       phi4flow sample --config input/L6.ini\n"
      "  solver-error  log q error of a trained flow's RK4 steps   phi4flow solver-error --config input/L6.ini\n"
      "  symmetry log q over symmetry images    phi4flow symmetry --config input/L6.ini --ensemble runs/L6/hmc.h5\n"
      "  analyze  analyse an ensemble file       phi4flow analyze runs/quickstart/hmc.h5\n"
      "  merge    join a job array's ensembles   phi4flow merge runs/L12/flow_mh.h5 task0.h5 task1.h5\n",
      phi4flow::version_string, phi4flow::git_hash);
}

}  // namespace

int main(int argc, char** argv) {
  phi4flow::Environment env(argc, argv);
  using Command = int (*)(const phi4flow::Environment&, int, char**);
  const std::map<std::string, Command> commands = {{"hmc", phi4flow::app::hmc_command},
                                                   {"train", phi4flow::app::train_command},
                                                   {"sample", phi4flow::app::sample_command},
                                                   {"solver-error", phi4flow::app::solver_error_command},
                                                   {"symmetry", phi4flow::app::symmetry_command},
                                                   {"analyze", phi4flow::app::analyze_command},
                                                   {"merge", phi4flow::app::merge_command}};
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    if (env.rank() == 0) usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  const auto command = commands.find(name);
  if (command == commands.end()) {
    if (env.rank() == 0) std::fprintf(stderr, "phi4flow: unknown command '%s'; run 'phi4flow --help'\n", argv[1]);
    return 2;
  }
  // The commands with a run loop save and exit 3 on SIGTERM, SIGINT or SIGUSR1 (SLURM's warning): catch them from
  // here on, so that a signal during parsing, setup or file opening is a stop request the loop honours, not the
  // default action that kills the rank. (The other commands keep the default: Ctrl-C ends them.)
  if (name == "hmc" || name == "train" || name == "sample") {
    phi4flow::run::install_stop_handlers();
    if (env.rank() == 0 && env.size() > 1) std::printf("phi4flow %s: %s\n", name.c_str(), env.placement().c_str());
  }
  try {
    return command->second(env, argc - 1, argv + 1);
  } catch (const phi4flow::InputError& e) {
    if (env.rank() == 0) std::fprintf(stderr, "phi4flow %s: error: %s\n", name.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "phi4flow %s: rank %d: fatal: %s\n", name.c_str(), env.rank(), e.what());
    env.comm().abort(1);
  }
  return 1;
}
