// phi4flow merge: join the ensembles of a job array's tasks (disjoint chain ids, see run.first_chain) into one.
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/io/config.hpp"
#include "phi4flow/io/ensemble_merge.hpp"

namespace phi4flow::app {

int merge_command(const Environment& env, int argc, char** argv) {
  namespace po = io::po;
  std::string output;
  std::vector<std::string> inputs;
  po::options_description options("phi4flow merge OUTPUT.h5 INPUT.h5 INPUT.h5 ... [options]");
  options.add_options()("help,h", "show this help")("output", po::value(&output), "the joined ensemble to write")(
      "inputs", po::value(&inputs)->multitoken(), "ensembles of disjoint chains of one run (hmc or sample)")(
      "force", "overwrite OUTPUT if it exists");
  po::positional_options_description positional;
  positional.add("output", 1).add("inputs", -1);
  po::variables_map values;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(), values);
    po::notify(values);
  } catch (const po::error& e) {
    throw InputError(std::string("command line: ") + e.what() + "; 'phi4flow merge --help' shows the options");
  }
  if (values.count("help")) {
    if (env.rank() == 0) std::cout << options;
    return 0;
  }
  if (output.empty() || inputs.size() < 2)
    throw InputError("give the output and at least two inputs: phi4flow merge OUTPUT.h5 INPUT.h5 INPUT.h5 ...");
  // One process reads and writes everything: the other ranks of an mpiexec wait for its verdict.
  env.comm().check_on_root([&] {
    if (env.rank() != 0) return;
    io::merge_ensembles(inputs, output, values.count("force") > 0);
    std::printf("phi4flow merge: %zu ensembles joined into %s\n", inputs.size(), output.c_str());
  });
  return 0;
}

}  // namespace phi4flow::app
