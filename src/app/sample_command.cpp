// phi4flow sample: independent Metropolis-Hastings chains with proposals from a trained flow (math.md Section 6),
// measured and written to one ensemble file in flushed blocks, with the raw proposals' weights and observables
// beside the chains' so that analyze can also reweight the proposals directly.
//
// Every proposal is keyed by (seed, mh_proposal, global chain, MH step) and every coin by (seed, mh_accept,
// global chain, MH step): proposals are drawn in batches of sample.batch_size, but a proposal does not depend on
// which batch it was drawn in, so the chains depend neither on the batch size nor on the number of ranks.
#include <algorithm>
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "flow_setup.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/io/config.hpp"
#include "phi4flow/io/ensemble.hpp"
#include "phi4flow/io/provenance.hpp"
#include "phi4flow/io/sha256.hpp"
#include "phi4flow/mcmc/flow_mh.hpp"
#include "phi4flow/parallel/collective.hpp"
#include "phi4flow/rng/philox.hpp"
#include "phi4flow/physics/observables.hpp"
#include "progress.hpp"
#include "stop_request.hpp"

namespace phi4flow::app {

namespace {

/// Per-record series: the chain's state (same names as HMC), the MH decision, and the step's raw proposal.
const std::vector<std::string>& sample_record_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = field_observable_names();
    n.insert(n.end(), {"accepted", "log_q", "S", "log_w"});
    for (const auto& name : field_observable_names()) n.push_back("proposal_" + name);
    n.insert(n.end(), {"proposal_log_q", "proposal_S", "proposal_log_w"});
    return n;
  }();
  return names;
}

/// What a resumed chain needs besides its field: the exact log q of its state (recomputing it by integrating the
/// flow backwards would not reproduce the forward value bit for bit).
const std::vector<std::string> state_value_names = {"log_q", "S", "log_w"};

io::EnsembleLayout sample_layout(const io::Input& input, const Environment& env, const io::Settings& settings,
                                 const io::AttrList& model_attrs, const std::string& checkpoint,
                                 const std::string& checkpoint_sha256, std::int64_t checkpoint_step) {
  const io::SampleConfig& sample = settings.sample;
  io::EnsembleLayout layout;
  layout.L = settings.lattice.L;
  layout.n_chains = env.size() * sample.chains_per_rank;
  layout.first_chain = env.rank() * sample.chains_per_rank;
  layout.local_chains = sample.chains_per_rank;
  layout.store_fields = sample.store_fields;
  layout.capacity = sample.steps / sample.measure_every;
  layout.record_scalars = sample_record_names();
  layout.record_vectors = {"proposal_Gc"};
  layout.state_values = state_value_names;
  layout.root = io::provenance(input, env.size());
  layout.lattice = {{"L", std::int64_t{settings.lattice.L}},
                    {"boundary", std::string("periodic")},
                    {"site_layout", std::string("phi[x1][x2], site index x1 * L + x2")}};
  layout.action = {{"name", std::string("phi4")},
                   {"m2", settings.action.m2},
                   {"lam", settings.action.lam},
                   {"definition", std::string("S = sum_x [sum_mu phi(x)(2 phi(x) - phi(x+mu) - phi(x-mu)) + m2 phi^2 + "
                                              "lam phi^4]")}};
  layout.algorithm = {{"name", std::string("flow-mh")},
                      {"checkpoint", checkpoint},
                      {"checkpoint_sha256", checkpoint_sha256},
                      {"checkpoint_step", checkpoint_step},
                      {"thermalisation", std::int64_t{sample.thermalisation}},
                      {"steps", std::int64_t{sample.steps}},
                      {"measure_every", std::int64_t{sample.measure_every}},
                      {"chains_per_rank", std::int64_t{sample.chains_per_rank}},
                      {"batch_size", std::int64_t{sample.batch_size}}};
  for (const auto& [name, value] : model_attrs) layout.algorithm.emplace_back("model_" + name, value);
  layout.rng = {{"generator", std::string("Philox4x32-10 (Random123)")},
                {"seed", settings.run.seed},
                {"key", std::string("(seed, purpose); counter (global chain, MH step, element)")}};
  return layout;
}

/// Draws flow proposals for (chain, MH step) pairs in batches of a fixed size, so that the model's workspace
/// and FFT plans are made once; a short last batch is padded with repeats of its last pair.
class ProposalSource {
 public:
  ProposalSource(flow::Model& model, const Phi4Action& action, std::uint32_t seed, int batch, int sites)
      : model_(model),
        action_(action),
        gen_(seed, rng::Purpose::mh_proposal),
        streams_("phi4flow::ProposalSource::streams", batch),
        steps_("phi4flow::ProposalSource::steps", batch),
        z_("phi4flow::ProposalSource::z", batch, sites),
        phi_("phi4flow::ProposalSource::phi", batch, sites),
        log_q_("phi4flow::ProposalSource::log_q", batch),
        S_("phi4flow::ProposalSource::S", batch),
        h_streams_(Kokkos::create_mirror_view(streams_)),
        h_steps_(Kokkos::create_mirror_view(steps_)),
        h_phi_(Kokkos::create_mirror_view(phi_)),
        h_log_q_(Kokkos::create_mirror_view(log_q_)),
        h_S_(Kokkos::create_mirror_view(S_)) {}

  /// \brief Proposals for the pairs (chains[i], steps[i]) into row i of phi and of log_q and S (host arrays
  /// sized for all pairs).
  void draw(const std::vector<std::uint32_t>& chains, const std::vector<std::uint64_t>& steps,
            const HostFieldBatch& phi, const HostBatchScalars& log_q, const HostBatchScalars& S) {
    const int batch = static_cast<int>(z_.extent(0));
    const int sites = static_cast<int>(z_.extent(1));
    const int pairs = static_cast<int>(chains.size());
    for (int first = 0; first < pairs; first += batch) {
      const int n = std::min(batch, pairs - first);
      for (int b = 0; b < batch; ++b) {
        const int i = first + std::min(b, n - 1);
        h_streams_(b) = chains[i];
        h_steps_(b) = steps[i];
      }
      Kokkos::deep_copy(streams_, h_streams_);
      Kokkos::deep_copy(steps_, h_steps_);
      rng::fill_normal(gen_, streams_, steps_, z_);
      model_.sample(z_, phi_, log_q_);
      action_.action(phi_, S_);
      Kokkos::deep_copy(h_phi_, phi_);
      Kokkos::deep_copy(h_log_q_, log_q_);
      Kokkos::deep_copy(h_S_, S_);
      for (int b = 0; b < n; ++b) {
        for (int s = 0; s < sites; ++s) phi(first + b, s) = h_phi_(b, s);
        log_q(first + b) = h_log_q_(b);
        S(first + b) = h_S_(b);
      }
    }
  }

 private:
  flow::Model& model_;
  const Phi4Action& action_;
  rng::Philox gen_;
  Kokkos::View<std::uint32_t*, MemSpace> streams_;
  Kokkos::View<std::uint64_t*, MemSpace> steps_;
  FieldBatch z_, phi_;
  BatchScalars log_q_, S_;
  Kokkos::View<std::uint32_t*, MemSpace>::HostMirror h_streams_;
  Kokkos::View<std::uint64_t*, MemSpace>::HostMirror h_steps_;
  HostFieldBatch h_phi_;
  HostBatchScalars h_log_q_, h_S_;
};

}  // namespace

int sample_command(const Environment& env, int argc, char** argv) {
  namespace po = io::po;
  std::string checkpoint_flag;
  po::options_description extra("sample");
  extra.add_options()("checkpoint", po::value(&checkpoint_flag), "trained model to sample (default: train.checkpoint)");
  io::Settings settings;
  io::Input input;
  if (!io::parse_input("sample", argc, argv, settings, input, env.rank() == 0, extra)) return 0;
  const io::RunConfig& run = settings.run;
  const io::SampleConfig& cfg = settings.sample;
  io::validate(run);
  io::validate(cfg);
  const std::string checkpoint_path = checkpoint_flag.empty() ? settings.train.checkpoint : checkpoint_flag;
  if (checkpoint_path.empty())
    throw InputError("no trained model: set train.checkpoint in the input file or pass --checkpoint FILE");
  const Lattice lattice(settings.lattice.L);
  const Phi4Action action(lattice, Couplings{settings.action.m2, settings.action.lam});
  const std::unique_ptr<flow::Model> model = make_model(settings, lattice);
  check_on_root(env.comm(), [&] { io::check_output_path("sample.output", cfg.output, input.force, input.resume); });

  const io::AttrList identity = model_identity(*model, settings);
  const io::Checkpoint checkpoint = load_trained_parameters(*model, identity, checkpoint_path);
  const std::int64_t trained_steps = checkpoint.counters.count("step") ? checkpoint.counters.at("step") : 0;
  const auto layout =
      sample_layout(input, env, settings, identity, checkpoint_path, io::sha256_file(checkpoint_path), trained_steps);

  if (input.resume) {
    // A resumed chain must continue the same Markov process: same model (by content), algorithm parameters and
    // random streams. The number of steps may grow; the proposal batch size changes nothing.
    const io::Ensemble existing = io::read_ensemble(cfg.output, false);
    const std::string source = "ensemble '" + cfg.output + "'";
    io::AttrList algorithm = layout.algorithm;
    algorithm.erase(std::remove_if(algorithm.begin(), algorithm.end(),
                                   [](const auto& a) {
                                     return a.first == "steps" || a.first == "batch_size" || a.first == "checkpoint";
                                   }),
                    algorithm.end());
    io::require_match(algorithm, existing.algorithm, source);
    io::require_match(layout.rng, existing.rng, source);
  }
  io::EnsembleWriter writer = input.resume ? io::EnsembleWriter::resume(env.comm(), cfg.output, layout)
                                           : io::EnsembleWriter::create(env.comm(), cfg.output, layout, input.force);

  const int chains = cfg.chains_per_rank;
  const int first_chain = env.rank() * chains;
  const int L = lattice.extent();
  const int sites = lattice.volume();
  std::vector<MhChain> mh(chains);
  HostFieldBatch state_phi("phi4flow::sample::state_phi", chains, sites);
  HostBatchScalars state_log_q("phi4flow::sample::state_log_q", chains), state_S("phi4flow::sample::state_S", chains);
  if (writer.has_state()) {
    const io::HostReals2 phi = writer.state_phi();
    const io::HostReals2 values = writer.state_values();
    for (int c = 0; c < chains; ++c) {
      for (int s = 0; s < sites; ++s) state_phi(c, s) = phi(c, s);
      state_log_q(c) = values(c, 0);
      state_S(c) = values(c, 1);
      mh[c] = MhChain(values(c, 2));
    }
  }

  std::int64_t step = writer.next_step();
  const std::int64_t total = std::int64_t{cfg.thermalisation} + cfg.steps;
  const bool root = env.rank() == 0;
  if (root) {
    std::printf(
        "phi4flow sample: %s from %s (trained %lld steps) on L = %d, m2 = %g, lam = %g, %d chains on %d "
        "ranks, %lld MH steps per chain%s\n",
        model->kind().c_str(), checkpoint_path.c_str(), static_cast<long long>(trained_steps), L, settings.action.m2,
        settings.action.lam, env.size() * chains, env.size(), static_cast<long long>(total),
        step > 0 ? (", resuming at step " + std::to_string(step)).c_str() : "");
    std::fflush(stdout);
  }
  Progress progress("sample: step", total, run.progress_interval, root);
  progress.set_start(step);

  // One round draws the proposals of `round` consecutive MH steps of every local chain.
  const int round = std::max(1, cfg.batch_size / chains);
  ProposalSource source(*model, action, static_cast<std::uint32_t>(run.seed), cfg.batch_size, sites);
  HostFieldBatch prop_phi("phi4flow::sample::proposal_phi", std::size_t(round) * chains, sites);
  HostBatchScalars prop_log_q("phi4flow::sample::proposal_log_q", std::size_t(round) * chains),
      prop_S("phi4flow::sample::proposal_S", std::size_t(round) * chains);
  const rng::Philox coin(static_cast<std::uint32_t>(run.seed), rng::Purpose::mh_accept);

  io::RecordBlock block = io::make_record_block(layout, cfg.flush_every);
  Kokkos::View<double*, HostSpace> gc("gc", L);
  long accepted_local = 0, proposed_local = 0;
  const auto flush = [&](std::int64_t next_step) {
    for (int c = 0; c < chains; ++c) {
      for (int s = 0; s < sites; ++s) block.state_phi(c, s) = state_phi(c, s);
      block.state_values(c, 0) = state_log_q(c);
      block.state_values(c, 1) = state_S(c);
      block.state_values(c, 2) = mh[c].log_w();
    }
    block.next_step = next_step;
    writer.append(block.n == cfg.flush_every ? block : io::leading_records(block));
    block.n = 0;
  };
  const auto record = [&](int r, int c, const std::string& prefix, const HostFieldBatch& phi, int b, double log_q,
                          double S) {
    const FieldObservables obs = measure_field(lattice, phi, b, S);
    block.scalars[prefix + "M"](c, r) = obs.M;
    block.scalars[prefix + "abs_M"](c, r) = obs.abs_M;
    block.scalars[prefix + "M2"](c, r) = obs.M2;
    block.scalars[prefix + "S_per_site"](c, r) = obs.S_per_site;
    block.scalars[prefix + "log_q"](c, r) = log_q;
    block.scalars[prefix + "S"](c, r) = S;
    block.scalars[prefix + "log_w"](c, r) = -S - log_q;
    slice_correlator(lattice, phi, b, gc);
    const io::HostReals3& target = prefix.empty() ? block.gc : block.vectors["proposal_Gc"];
    for (int t = 0; t < L; ++t) target(c, r, t) = gc(t);
  };

  install_stop_handlers();
  int stop_signal = 0;
  std::vector<std::uint32_t> pair_chain;
  std::vector<std::uint64_t> pair_step;
  while (step < total && !stop_signal) {
    const int n_steps = static_cast<int>(std::min<std::int64_t>(round, total - step));
    pair_chain.clear();
    pair_step.clear();
    for (int k = 0; k < n_steps; ++k)
      for (int c = 0; c < chains; ++c) {
        pair_chain.push_back(static_cast<std::uint32_t>(first_chain + c));
        pair_step.push_back(static_cast<std::uint64_t>(step + k));
      }
    source.draw(pair_chain, pair_step, prop_phi, prop_log_q, prop_S);
    for (int k = 0; k < n_steps; ++k, ++step) {
      const std::int64_t measured = step + 1 - cfg.thermalisation;
      const bool measure = measured > 0 && measured % cfg.measure_every == 0;
      const int r = block.n;
      for (int c = 0; c < chains; ++c) {
        const int i = k * chains + c;
        const double u = coin.uniform(static_cast<std::uint32_t>(first_chain + c), static_cast<std::uint64_t>(step), 0);
        const bool accepted = mh[c].step(-prop_S(i) - prop_log_q(i), u);
        if (accepted) {
          for (int s = 0; s < sites; ++s) state_phi(c, s) = prop_phi(i, s);
          state_log_q(c) = prop_log_q(i);
          state_S(c) = prop_S(i);
        }
        accepted_local += accepted;
        ++proposed_local;
        if (!measure) continue;
        block.step(c, r) = step;
        block.scalars["accepted"](c, r) = accepted;
        record(r, c, "", state_phi, c, state_log_q(c), state_S(c));
        record(r, c, "proposal_", prop_phi, i, prop_log_q(i), prop_S(i));
        if (cfg.store_fields)
          for (int s = 0; s < sites; ++s) block.phi(c, r, s) = state_phi(c, s);
      }
      if (measure && ++block.n == cfg.flush_every) flush(step + 1);
    }
    char details[64];
    std::snprintf(details, sizeof details, "acceptance %.3f (rank 0)",
                  proposed_local ? static_cast<double>(accepted_local) / proposed_local : 0.0);
    progress.update(step, details, step == total);
    stop_signal = stop_requested(env.comm());
  }
  if (block.n > 0 || stop_signal) flush(step);

  close_and_report(env, writer, "sample", "step", "proposals", stop_signal != 0 && step < total, stop_signal,
                   static_cast<long long>(step), cfg.output, progress.elapsed(), accepted_local, proposed_local);
  return stop_signal && step < total ? exit_interrupted : 0;
}

}  // namespace phi4flow::app
