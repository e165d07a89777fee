// phi4flow analyze: read an ensemble on rank 0, print the results table and write them as JSON.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "phi4flow/analysis/ensemble_analysis.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/io/config.hpp"
#include "phi4flow/parallel/collective.hpp"

namespace phi4flow::app {

int analyze_command(const Environment& env, int argc, char** argv) {
  namespace po = io::po;
  std::string ensemble_path, output;
  long discard = 0;
  po::options_description options("phi4flow analyze ENSEMBLE.h5 [options]");
  options.add_options()
      ("help,h", "show this help")
      ("ensemble", po::value(&ensemble_path), "ensemble file written by 'phi4flow hmc'")
      ("discard", po::value(&discard)->default_value(0), "records to drop at the start of every chain")
      ("output,o", po::value(&output), "results file (JSON); default: ENSEMBLE with .results.json");
  po::positional_options_description positional;
  positional.add("ensemble", 1);
  po::variables_map values;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(), values);
    po::notify(values);
  } catch (const po::error& e) {
    throw InputError(std::string("command line: ") + e.what() + "; 'phi4flow analyze --help' shows the options");
  }
  if (values.count("help")) {
    if (env.rank() == 0) std::cout << options;
    return 0;
  }
  if (ensemble_path.empty()) throw InputError("no ensemble given: phi4flow analyze ENSEMBLE.h5");
  if (output.empty()) {
    const auto dot = ensemble_path.rfind(".h5");
    output = (dot == std::string::npos ? ensemble_path : ensemble_path.substr(0, dot)) + ".results.json";
  }

  check_on_root(env.comm(), [&] {
    if (env.rank() != 0) return;
    const analysis::EnsembleAnalysis result = analysis::analyze(io::read_ensemble(ensemble_path), discard);
    std::printf("%s", analysis::format_table(result).c_str());
    const std::string tmp = output + ".tmp";
    std::ofstream file(tmp);
    file << analysis::to_json(result);
    file.close();
    if (!file || std::rename(tmp.c_str(), output.c_str()) != 0) {
      throw InputError("cannot write results to '" + output + "': check --output");
    }
    std::printf("results written to %s\n", output.c_str());
  });
  return 0;
}

}  // namespace phi4flow::app
