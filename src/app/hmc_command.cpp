// phi4flow hmc: HMC chains on every rank, measured and written to one ensemble file in flushed blocks.
#include <algorithm>
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/io/config.hpp"
#include "phi4flow/io/ensemble.hpp"
#include "phi4flow/io/provenance.hpp"
#include "phi4flow/mcmc/hmc.hpp"
#include "phi4flow/parallel/collective.hpp"
#include "phi4flow/physics/observables.hpp"
#include "progress.hpp"
#include "stop_request.hpp"

namespace phi4flow::app {

namespace {

const std::vector<std::string>& hmc_record_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = field_observable_names();
    n.insert(n.end(), {"accepted", "dH"});
    return n;
  }();
  return names;
}

io::EnsembleLayout hmc_layout(const io::Input& input, const Environment& env, const io::Settings& settings) {
  const io::LatticeConfig& lattice = settings.lattice;
  const io::ActionConfig& action = settings.action;
  const io::HmcConfig& hmc = settings.hmc;
  io::EnsembleLayout layout;
  layout.L = lattice.L;
  layout.n_chains = env.size() * hmc.chains_per_rank;
  layout.first_chain = env.rank() * hmc.chains_per_rank;
  layout.local_chains = hmc.chains_per_rank;
  layout.store_fields = hmc.store_fields;
  layout.capacity = hmc.trajectories / hmc.measure_every;
  layout.record_scalars = hmc_record_names();
  layout.root = io::provenance(input, env.size());
  layout.lattice = {{"L", std::int64_t{lattice.L}},
                    {"boundary", std::string("periodic")},
                    {"site_layout", std::string("phi[x1][x2], site index x1 * L + x2")}};
  layout.action = {{"name", std::string("phi4")},
                   {"m2", action.m2},
                   {"lam", action.lam},
                   {"definition", std::string("S = sum_x [sum_mu phi(x)(2 phi(x) - phi(x+mu) - phi(x-mu)) + m2 phi^2 + "
                                              "lam phi^4]")}};
  layout.algorithm = {{"name", std::string("hmc")},
                      {"trajectory_length", hmc.trajectory_length},
                      {"leapfrog_steps", std::int64_t{hmc.leapfrog_steps}},
                      {"thermalisation", std::int64_t{hmc.thermalisation}},
                      {"trajectories", std::int64_t{hmc.trajectories}},
                      {"measure_every", std::int64_t{hmc.measure_every}},
                      {"chains_per_rank", std::int64_t{hmc.chains_per_rank}}};
  layout.rng = {{"generator", std::string("Philox4x32-10 (Random123)")},
                {"seed", settings.run.seed},
                {"key", std::string("(seed, purpose); counter (global chain, trajectory, element)")}};
  return layout;
}

}  // namespace

int hmc_command(const Environment& env, int argc, char** argv) {
  io::Settings settings;
  io::Input input;
  if (!io::parse_input("hmc", argc, argv, settings, input, env.rank() == 0)) return 0;
  const io::RunConfig& run = settings.run;
  const io::HmcConfig& hmc_cfg = settings.hmc;
  const io::ActionConfig& action_cfg = settings.action;
  io::validate(run);
  io::validate(hmc_cfg);
  const Lattice lattice(settings.lattice.L);
  const Phi4Action action(lattice, Couplings{action_cfg.m2, action_cfg.lam});
  check_on_root(env.comm(), [&] { io::check_output_path("hmc.output", hmc_cfg.output, input.force, input.resume); });

  const int chains = hmc_cfg.chains_per_rank;
  const int first_chain = env.rank() * chains;
  const int L = lattice.extent();
  Hmc hmc(action, HmcParams{hmc_cfg.trajectory_length, hmc_cfg.leapfrog_steps}, static_cast<std::uint32_t>(run.seed),
          first_chain, chains);
  FieldBatch phi("phi4flow::hmc::phi", chains, lattice.volume());
  const auto layout = hmc_layout(input, env, settings);

  if (input.resume) {
    // A resumed chain must continue the same Markov process: same algorithm parameters and random streams (the
    // number of trajectories may grow). The writer itself checks lattice, action and shape.
    const io::Ensemble existing = io::read_ensemble(hmc_cfg.output, false);
    const std::string source = "ensemble '" + hmc_cfg.output + "'";
    io::AttrList algorithm = layout.algorithm;
    algorithm.erase(
        std::remove_if(algorithm.begin(), algorithm.end(), [](const auto& a) { return a.first == "trajectories"; }),
        algorithm.end());
    io::require_match(algorithm, existing.algorithm, source);
    io::require_match(layout.rng, existing.rng, source);
  }
  io::EnsembleWriter writer = input.resume
                                  ? io::EnsembleWriter::resume(env.comm(), hmc_cfg.output, layout)
                                  : io::EnsembleWriter::create(env.comm(), hmc_cfg.output, layout, input.force);
  std::int64_t step = writer.next_step();
  if (writer.has_state()) {
    Kokkos::deep_copy(phi, writer.state_phi());
  } else {
    hmc.initial_fields(phi);
  }

  const std::int64_t total = std::int64_t{hmc_cfg.thermalisation} + hmc_cfg.trajectories;
  const bool root = env.rank() == 0;
  if (root) {
    std::printf("phi4flow hmc: L = %d, m2 = %g, lam = %g, %d chains on %d ranks, %lld trajectories per chain%s\n", L,
                action_cfg.m2, action_cfg.lam, env.size() * chains, env.size(), static_cast<long long>(total),
                step > 0 ? (", resuming at trajectory " + std::to_string(step)).c_str() : "");
  }
  Progress progress("hmc: trajectory", total, run.progress_interval, root);
  progress.set_start(step);

  io::RecordBlock block = io::make_record_block(layout, hmc_cfg.flush_every);
  auto host_phi = Kokkos::create_mirror_view(phi);
  BatchScalars S("phi4flow::hmc::S", chains);
  auto host_S = Kokkos::create_mirror_view(S);
  Kokkos::View<double*, HostSpace> gc("gc", L);
  long accepted_local = 0, proposed_local = 0;

  const auto flush = [&](std::int64_t next_step) {
    Kokkos::deep_copy(host_phi, phi);  // the chains may have moved on since the last record
    for (int c = 0; c < chains; ++c)
      for (int s = 0; s < lattice.volume(); ++s) block.state_phi(c, s) = host_phi(c, s);
    block.next_step = next_step;
    writer.append(block.n == hmc_cfg.flush_every ? block : io::leading_records(block));
    block.n = 0;
  };

  // Ranks agree on a stop request every this many trajectories: rare enough to cost nothing.
  constexpr std::int64_t stop_check_every = 64;
  install_stop_handlers();
  int stop_signal = 0;
  for (; step < total; ++step) {
    const TrajectoryResult result = hmc.trajectory(phi, static_cast<std::uint64_t>(step));
    for (int c = 0; c < chains; ++c) accepted_local += result.accepted(c);
    proposed_local += chains;
    const std::int64_t measured = step + 1 - hmc_cfg.thermalisation;
    if (measured > 0 && measured % hmc_cfg.measure_every == 0) {
      action.action(phi, S);
      Kokkos::deep_copy(host_phi, phi);
      Kokkos::deep_copy(host_S, S);
      const int r = block.n++;
      for (int c = 0; c < chains; ++c) {
        block.step(c, r) = step;
        const FieldObservables obs = measure_field(lattice, host_phi, c, host_S(c));
        block.scalars["M"](c, r) = obs.M;
        block.scalars["abs_M"](c, r) = obs.abs_M;
        block.scalars["M2"](c, r) = obs.M2;
        block.scalars["S_per_site"](c, r) = obs.S_per_site;
        block.scalars["accepted"](c, r) = result.accepted(c);
        block.scalars["dH"](c, r) = result.delta_H(c);
        slice_correlator(lattice, host_phi, c, gc);
        for (int t = 0; t < L; ++t) block.gc(c, r, t) = gc(t);
        if (hmc_cfg.store_fields)
          for (int s = 0; s < lattice.volume(); ++s) block.phi(c, r, s) = host_phi(c, s);
      }
      if (block.n == hmc_cfg.flush_every) flush(step + 1);
    }
    char details[64];
    std::snprintf(details, sizeof details, "acceptance %.3f (rank 0)",
                  proposed_local ? static_cast<double>(accepted_local) / proposed_local : 0.0);
    progress.update(step + 1, details, step + 1 == total);
    if ((step + 1) % stop_check_every == 0 && (stop_signal = stop_requested(env.comm()))) {
      ++step;
      break;
    }
  }
  if (block.n > 0 || stop_signal) flush(step);

  close_and_report(env, writer, "hmc", "trajectory", "trajectories", stop_signal != 0, stop_signal,
                   static_cast<long long>(step), hmc_cfg.output, progress.elapsed(), accepted_local, proposed_local);
  return stop_signal ? exit_interrupted : 0;
}

}  // namespace phi4flow::app
