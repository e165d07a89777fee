// The sub-commands of the phi4flow executable; each parses its own options and returns an exit code.
#pragma once

#include <cstdint>

#include "phi4flow/io/config.hpp"
#include "phi4flow/parallel/environment.hpp"
#include "phi4flow/run/ensemble_run.hpp"

namespace phi4flow::app {

int hmc_command(const Environment& env, int argc, char** argv);
int analyze_command(const Environment& env, int argc, char** argv);
int sample_command(const Environment& env, int argc, char** argv);
int train_command(const Environment& env, int argc, char** argv);
int solver_error_command(const Environment& env, int argc, char** argv);
int symmetry_command(const Environment& env, int argc, char** argv);

/// \brief The ensemble-run settings that a sampler section ([hmc], [sample]) and the command line give alike.
template <class SamplerConfig>
run::EnsembleRunSettings ensemble_run_settings(const SamplerConfig& cfg, std::int64_t steps, const io::Input& input,
                                               const io::Settings& settings) {
  run::EnsembleRunSettings run;
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
