// The sub-commands of the phi4flow executable; each parses its own options and returns an exit code.
#pragma once

#include "phi4flow/parallel/environment.hpp"

namespace phi4flow::app {

int hmc_command(const Environment& env, int argc, char** argv);
int analyze_command(const Environment& env, int argc, char** argv);
int sample_command(const Environment& env, int argc, char** argv);
int train_command(const Environment& env, int argc, char** argv);
int solver_error_command(const Environment& env, int argc, char** argv);
int symmetry_command(const Environment& env, int argc, char** argv);

}  // namespace phi4flow::app
