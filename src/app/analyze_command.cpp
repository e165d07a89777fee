// phi4flow analyze: read an ensemble on rank 0, print the results table and write them as JSON; with --compare,
// analyse a second ensemble too and print both side by side.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "phi4flow/analysis/ensemble_analysis.hpp"
#include "phi4flow/analysis/report.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/io/config.hpp"

namespace phi4flow::app {

int analyze_command(const Environment& env, int argc, char** argv) {
  namespace po = io::po;
  std::string ensemble_path, output, compare_path;
  long discard = 0;
  po::options_description options("phi4flow analyze ENSEMBLE.h5 [options]");
  options.add_options()("help,h", "show this help")("ensemble", po::value(&ensemble_path),
                                                    "ensemble file written by 'phi4flow hmc' or 'phi4flow sample'")(
      "compare", po::value(&compare_path),
      "a second ensemble (same --discard): print both side by side with the "
      "differences in units of their combined error, and write its results next to it too")(
      "discard", po::value(&discard)->default_value(0), "records to drop at the start of every chain")(
      "output,o", po::value(&output), "results file (JSON); default: ENSEMBLE with .results.json");
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
  const auto results_path = [](const std::string& ensemble) {
    const auto dot = ensemble.rfind(".h5");
    return (dot == std::string::npos ? ensemble : ensemble.substr(0, dot)) + ".results.json";
  };
  if (output.empty()) output = results_path(ensemble_path);

  // Analyse one ensemble, print its table and write its results atomically (to a temporary file, then renamed).
  const auto analyse = [&](const std::string& path, const std::string& results, const std::string& key) {
    const analysis::EnsembleAnalysis result = analysis::analyze(io::read_ensemble(path), discard);
    std::printf("%s", analysis::format_table(result).c_str());
    const std::string tmp = results + ".tmp";
    std::ofstream file(tmp);
    file << analysis::to_json(result);
    file.close();
    if (!file || std::rename(tmp.c_str(), results.c_str()) != 0) {
      throw InputError("cannot write results to '" + results + "': check " + key);
    }
    std::printf("results written to %s\n", results.c_str());
    return result;
  };
  env.comm().check_on_root([&] {
    if (env.rank() != 0) return;
    const analysis::EnsembleAnalysis result = analyse(ensemble_path, output, "--output");
    if (compare_path.empty()) return;
    std::printf("\n");
    const analysis::EnsembleAnalysis other =
        analyse(compare_path, results_path(compare_path), "the directory of --compare");
    std::printf("\n%s", analysis::format_comparison(result, ensemble_path, other, compare_path).c_str());
  });
  return 0;
}

}  // namespace phi4flow::app
