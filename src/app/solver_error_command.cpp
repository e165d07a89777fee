// phi4flow solver-error: how far log q of a trained flow, integrated with the configured number of RK4 steps and
// precision, is from the same integration with `factor` times as many steps in double, for the same latent samples;
// with flow.precision = single also how much of it is the precision's (against the same steps in double). Metropolis-Hastings is exact only if log q is the density of the proposal actually drawn, so this error
// must stay far below the spread of the log weights and the statistical errors of what is estimated.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "flow_setup.hpp"
#include "memory_check.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/rng/philox.hpp"
#include "phi4flow/physics/action.hpp"

namespace phi4flow::app {

namespace {

struct SolverError {
  double mean = 0.0, worst = 0.0;  // |log q - log q_fine| over the samples
  double field = 0.0;              // max |phi - phi_fine| over sites and samples
  double log_w_spread = 0.0;       // standard deviation of log w = -S - log q, for scale
};

/// log q and phi of `samples` latent fields integrated as `settings` asks and as `reference_settings` asks (more
/// steps, double), with the checkpoint's parameters in both.
SolverError measure_solver_error(const io::Settings& settings, const io::Settings& reference_settings,
                                 const io::Checkpoint& checkpoint, int samples) {
  const Lattice lattice(settings.lattice.L);
  const Phi4Action action(lattice, Couplings{settings.action.m2, settings.action.lam});
  const auto model = make_model(settings, lattice);
  require_same_model(model_identity(*model, settings), checkpoint.model,
                     "checkpoint '" + settings.train.checkpoint + "'");
  const auto fine = make_model(reference_settings, lattice);
  load_array(checkpoint.arrays.at("parameters"), model->parameters(), settings.train.checkpoint);
  load_array(checkpoint.arrays.at("parameters"), fine->parameters(), settings.train.checkpoint);

  FieldBatch z("z", samples, lattice.volume()), phi("phi", samples, lattice.volume()),
      phi_fine("phi_fine", samples, lattice.volume());
  BatchScalars log_q("log_q", samples), log_q_fine("log_q_fine", samples), S("S", samples);
  rng::fill_normal(rng::Philox(static_cast<std::uint32_t>(settings.run.seed), rng::Purpose::flow_eval), 0, 0xFFFFFFFFu,
                   z);
  model->sample(z, phi, log_q);
  fine->sample(z, phi_fine, log_q_fine);
  action.action(phi, S);
  const auto h_phi = Kokkos::create_mirror_view_and_copy(HostSpace(), phi);
  const auto h_fine = Kokkos::create_mirror_view_and_copy(HostSpace(), phi_fine);
  const auto h_q = Kokkos::create_mirror_view_and_copy(HostSpace(), log_q);
  const auto h_qf = Kokkos::create_mirror_view_and_copy(HostSpace(), log_q_fine);
  const auto h_S = Kokkos::create_mirror_view_and_copy(HostSpace(), S);

  SolverError e;
  double w_mean = 0.0, w_var = 0.0;
  for (int b = 0; b < samples; ++b) {
    const double d = std::abs(h_q(b) - h_qf(b));
    e.mean += d / samples;
    e.worst = std::max(e.worst, d);
    for (int s = 0; s < lattice.volume(); ++s) e.field = std::max(e.field, std::abs(h_phi(b, s) - h_fine(b, s)));
    w_mean += (-h_S(b) - h_q(b)) / samples;
  }
  for (int b = 0; b < samples; ++b) w_var += std::pow(-h_S(b) - h_q(b) - w_mean, 2) / (samples - 1);
  e.log_w_spread = std::sqrt(w_var);
  return e;
}

}  // namespace

int solver_error_command(const Environment& env, int argc, char** argv) {
  namespace po = io::po;
  int samples = 200, factor = 4;
  po::options_description extra("solver-error");
  extra.add_options()("samples", po::value(&samples)->default_value(samples), "latent samples to compare")(
      "factor", po::value(&factor)->default_value(factor), "the reference uses factor x flow.ode_steps steps");
  io::Settings settings;
  io::Input input;
  if (!io::parse_input("solver-error", argc, argv, settings, input, env.rank() == 0, extra)) return 0;
  if (samples < 2) throw InputError("--samples must be at least 2");
  if (factor < 2) throw InputError("--factor must be at least 2");
  if (settings.train.checkpoint.empty()) throw InputError("train.checkpoint is not set: name the trained model");
  if (settings.flow.model != "equivariant_cnf") {
    throw InputError("flow.model = " + settings.flow.model +
                     ": solver-error measures the ODE solver's error, and only equivariant_cnf has one (the log q of " +
                     "a coupling flow is exact)");
  }
  check_memory(settings, "solver-error", 1, 1, samples);
  if (env.rank() != 0) return 0;  // a quick serial check

  const io::Checkpoint checkpoint = io::read_checkpoint(settings.train.checkpoint);
  io::Settings fine = settings;
  fine.flow.ode_steps *= factor;
  fine.flow.precision = "double";
  const SolverError e = measure_solver_error(settings, fine, checkpoint, samples);
  std::printf(
      "solver error of %s (%d RK4 steps in %s precision) against %d steps in double, %d samples:\n"
      "  |log q difference|: mean %.3e, max %.3e\n"
      "  max |phi difference| over sites and samples: %.3e\n"
      "  for scale: standard deviation of log w = -S - log q over the samples: %.3e\n",
      settings.train.checkpoint.c_str(), settings.flow.ode_steps, settings.flow.precision.c_str(),
      settings.flow.ode_steps * factor, samples, e.mean, e.worst, e.field, e.log_w_spread);
  if (settings.flow.precision != "double") {
    io::Settings same_steps = settings;
    same_steps.flow.precision = "double";
    const SolverError p = measure_solver_error(settings, same_steps, checkpoint, samples);
    std::printf(
        "  of which the precision's: against the same %d steps in double, |log q difference| mean %.3e, max %.3e; "
        "max |phi difference| %.3e\n",
        settings.flow.ode_steps, p.mean, p.worst, p.field);
  }
  return 0;
}

}  // namespace phi4flow::app
