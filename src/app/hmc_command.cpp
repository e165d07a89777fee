// phi4flow hmc: HMC chains on every rank, measured and written to one ensemble file in flushed blocks.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "memory_check.hpp"
#include "phi4flow/io/config.hpp"
#include "phi4flow/mcmc/hmc.hpp"
#include "phi4flow/run/ensemble_run.hpp"

namespace phi4flow::app {

int hmc_command(const Environment& env, int argc, char** argv) {
  io::Settings settings;
  io::Input input;
  if (!io::parse_input("hmc", argc, argv, settings, input, env.rank() == 0)) return 0;
  const io::HmcConfig& cfg = settings.hmc;
  io::validate(settings.run);
  io::validate(cfg);
  const Communicator& comm = env.comm();
  comm.check_on_root([&] { check_memory(settings, "hmc", env.size(), env.ranks_on_node()); });
  const Lattice lattice(settings.lattice.L);
  const Phi4Action action(lattice, Couplings{settings.action.m2, settings.action.lam});
  comm.check_on_root([&] { io::check_output_path("hmc.output", cfg.output, input.force, input.resume); });

  io::EnsembleLayout layout =
      run::ensemble_layout(comm, input, settings, cfg.chains_per_rank, "global chain, trajectory, element");
  HmcSampler sampler(action, HmcParams{cfg.trajectory_length, cfg.leapfrog_steps},
                     static_cast<std::uint32_t>(settings.run.seed), run::first_global_chain(layout),
                     cfg.chains_per_rank);
  layout.algorithm = {{"name", std::string("hmc")},
                      {"trajectory_length", cfg.trajectory_length},
                      {"leapfrog_steps", std::int64_t{cfg.leapfrog_steps}},
                      {"thermalisation", std::int64_t{cfg.thermalisation}},
                      {"trajectories", std::int64_t{cfg.trajectories}},
                      {"measure_every", std::int64_t{cfg.measure_every}},
                      {"chains_per_rank", std::int64_t{cfg.chains_per_rank}}};

  char headline[160];
  std::snprintf(headline, sizeof headline,
                "phi4flow hmc: L = %d, m2 = %g, lam = %g, %d chains on %d ranks, %lld trajectories per chain",
                lattice.extent(), settings.action.m2, settings.action.lam, layout.n_chains, comm.size(),
                static_cast<long long>(cfg.thermalisation) + cfg.trajectories);
  return run::run_ensemble(comm, sampler, lattice, std::move(layout),
                           ensemble_run_settings("hmc", "trajectory", "trajectories", headline, {"trajectories", "chains_per_rank"}, cfg,
                                                 cfg.trajectories, input, settings));
}

}  // namespace phi4flow::app
