// The sub-commands of the phi4flow executable; each parses its own options and returns an exit code.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "phi4flow/io/config.hpp"
#include "phi4flow/parallel/environment.hpp"
#include "phi4flow/run/ensemble_run.hpp"

namespace phi4flow::app {

int hmc_command(const Environment& env, int argc, char** argv);
int analyze_command(const Environment& env, int argc, char** argv);
int merge_command(const Environment& env, int argc, char** argv);
int sample_command(const Environment& env, int argc, char** argv);
int train_command(const Environment& env, int argc, char** argv);
int solver_error_command(const Environment& env, int argc, char** argv);
int symmetry_command(const Environment& env, int argc, char** argv);

/// \brief The ensemble-run settings of a sampler command: its names for messages (command, one step, what the
/// acceptance counts), its headline, the algorithm attributes a resumed run may change, and what its section
/// ([hmc], [sample]) and the command line set alike.
template <class SamplerConfig>
run::EnsembleRunSettings ensemble_run_settings(const char* command, const char* step_name, const char* updates_name,
                                               std::string headline, std::vector<std::string> may_change_on_resume,
                                               const SamplerConfig& cfg, std::int64_t steps, const io::Input& input,
                                               const io::Settings& settings) {
  run::EnsembleRunSettings run;
  run.command = command;
  run.step_name = step_name;
  run.updates_name = updates_name;
  run.headline = std::move(headline);
  run.may_change_on_resume = std::move(may_change_on_resume);
  run.output = cfg.output;
  run.overwrite = input.force;
  run.resume = input.resume;
  run.thermalisation = cfg.thermalisation;
  run.steps = steps;
  run.measure_every = cfg.measure_every;
  run.flush_every = cfg.flush_every;
  run.store_fields = cfg.store_fields;
  run.progress_interval = settings.run.progress_interval;
  return run;
}

}  // namespace phi4flow::app
