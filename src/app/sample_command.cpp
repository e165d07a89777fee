// phi4flow sample: independent Metropolis-Hastings chains with proposals from a trained flow (docs/flow.md),
// measured and written to one ensemble file in flushed blocks, with the raw proposals' weights and observables
// beside the chains' so that analyze can also reweight the proposals directly.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "flow_setup.hpp"
#include "memory_check.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/io/config.hpp"
#include "phi4flow/io/sha256.hpp"
#include "phi4flow/mcmc/flow_mh.hpp"

namespace phi4flow::app {

int sample_command(const Environment& env, int argc, char** argv) {
  std::string checkpoint_flag;
  io::po::options_description extra("sample");
  extra.add_options()("checkpoint", io::po::value(&checkpoint_flag),
                      "trained model to sample (default: train.checkpoint if it exists, else sample.shipped_model)");
  io::Settings settings;
  io::Input input;
  if (!io::parse_input("sample", argc, argv, settings, input, env.rank() == 0, extra)) return 0;
  const io::SampleConfig& cfg = settings.sample;
  io::validate(settings.run);
  io::validate(cfg);
  const Communicator& comm = env.comm();
  comm.check_on_root([&] { check_memory(settings, "sample", env.size(), env.ranks_on_node()); });
  const Lattice lattice(settings.lattice.L);
  const Phi4Action action(lattice, Couplings{settings.action.m2, settings.action.lam});
  const std::unique_ptr<flow::Model> model = make_model(settings, lattice);
  comm.check_on_root([&] { io::check_output_path("sample.output", cfg.output, input.force, input.resume); });
  const std::string checkpoint_path = sampling_checkpoint(checkpoint_flag, settings);
  const io::AttrList identity = model_identity(*model, settings);
  const io::Checkpoint checkpoint = load_trained_parameters(*model, identity, checkpoint_path);
  const std::int64_t trained_steps = checkpoint.counters.count("step") ? checkpoint.counters.at("step") : 0;

  io::EnsembleLayout layout =
      run::ensemble_layout(comm, input, settings, cfg.chains_per_rank, "global chain, MH step, element");
  FlowMhSampler sampler(*model, action, static_cast<std::uint32_t>(settings.run.seed), run::first_global_chain(layout),
                        cfg.chains_per_rank, cfg.batch_size);
  layout.algorithm = {{"name", std::string("flow-mh")},
                      {"checkpoint", checkpoint_path},
                      {"checkpoint_sha256", io::sha256_file(checkpoint_path)},
                      {"checkpoint_step", trained_steps},
                      {"thermalisation", std::int64_t{cfg.thermalisation}},
                      {"steps", std::int64_t{cfg.steps}},
                      {"measure_every", std::int64_t{cfg.measure_every}},
                      {"chains_per_rank", std::int64_t{cfg.chains_per_rank}},
                      {"batch_size", std::int64_t{cfg.batch_size}}};
  for (const auto& [name, value] : identity) layout.algorithm.emplace_back("model_" + name, value);

  char headline[512];
  std::snprintf(headline, sizeof headline,
                "phi4flow sample: %s from %s (trained %lld steps) on L = %d, m2 = %g, lam = %g, %d chains on %d "
                "ranks, %lld MH steps per chain",
                model->kind().c_str(), checkpoint_path.c_str(), static_cast<long long>(trained_steps),
                lattice.extent(), settings.action.m2, settings.action.lam, layout.n_chains, comm.size(),
                static_cast<long long>(cfg.thermalisation) + cfg.steps);
  // A resumed run may sample the same model (by content: checkpoint_sha256) from another path, in other batches, and
  // spread the same chains over other ranks (their streams are keyed by global chain id).
  return run::run_ensemble(comm, sampler, lattice, std::move(layout),
                           ensemble_run_settings("sample", "step", "proposals", headline,
                                                 {"steps", "batch_size", "checkpoint", "chains_per_rank"}, cfg, cfg.steps, input, settings));
}

}  // namespace phi4flow::app
