// The shared sampler loop: file, chains, records, progress, stop, report.
#include "phi4flow/run/ensemble_run.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "phi4flow/error.hpp"
#include "phi4flow/io/provenance.hpp"
#include "phi4flow/run/progress.hpp"
#include "phi4flow/run/record_block.hpp"
#include "phi4flow/run/stop_request.hpp"

namespace phi4flow::run {

namespace {

// Ranks agree on a stop request (and on a sampler's failure) every this many steps and before every append: one
// small all-reduce, rare enough to cost nothing next to a step, frequent enough to stop within a second.
constexpr std::int64_t stop_check_every = 16;

io::EnsembleWriter open_writer(const Communicator& comm, const io::EnsembleLayout& layout,
                               const EnsembleRunSettings& settings) {
  if (!settings.resume) return io::EnsembleWriter::create(comm, settings.output, layout, settings.overwrite);
  // A resumed chain must continue the same Markov process: same algorithm parameters (but those listed as free to
  // change) and random streams. The writer itself checks lattice, action and shape.
  const io::Ensemble existing = io::read_ensemble(settings.output, false);
  const std::string source = "ensemble '" + settings.output + "'";
  io::AttrList algorithm = layout.algorithm;
  const auto& free = settings.may_change_on_resume;
  algorithm.erase(std::remove_if(algorithm.begin(), algorithm.end(),
                                 [&](const auto& a) { return std::find(free.begin(), free.end(), a.first) != free.end(); }),
                  algorithm.end());
  io::require_match(algorithm, existing.algorithm, source);
  io::require_match(layout.rng, existing.rng, source);
  return io::EnsembleWriter::resume(comm, settings.output, layout);
}

/// Starts fresh chains, or restores those the file holds.
void start_chains(Sampler& sampler, const io::EnsembleWriter& writer, const Lattice& lattice) {
  if (!writer.has_state()) {
    sampler.start();
    return;
  }
  const io::HostReals2 host_phi = writer.state_phi();
  const io::HostReals2 host_values = writer.state_values();
  FieldBatch phi("phi4flow::run::restored_phi", host_phi.extent(0), lattice.volume());
  ChainValues values("phi4flow::run::restored_values", host_values.extent(0), host_values.extent(1));
  Kokkos::deep_copy(phi, host_phi);
  Kokkos::deep_copy(values, host_values);
  sampler.restore(phi, values);
}

std::string acceptance_details(const Sampler& sampler) {
  const AcceptanceCounts counts = sampler.acceptance();
  char details[64];
  std::snprintf(details, sizeof details, "acceptance %.3f (rank 0)",
                counts.proposed ? static_cast<double>(counts.accepted) / counts.proposed : 0.0);
  return details;
}

/// \brief Collective: sums this run's acceptance over the ranks, closes the ensemble, and prints on rank 0 where a
/// stopped run can be continued, or the summary of a finished one.
void close_and_report(const Communicator& comm, io::EnsembleWriter& writer, const Sampler& sampler,
                      const EnsembleRunSettings& settings, int signal, long long step, double seconds,
                      double write_seconds) {
  const AcceptanceCounts counts = sampler.acceptance();
  const long long accepted = comm.sum(counts.accepted), proposed = comm.sum(counts.proposed);
  const long long records = writer.records_complete();
  writer.close();
  if (!comm.root()) return;
  std::error_code ignored;
  const double megabytes = static_cast<double>(std::filesystem::file_size(settings.output, ignored)) / 1e6;
  const char* command = settings.command.c_str();
  if (signal) {
    std::printf(
        "phi4flow %s: stopped by signal %d after %s %lld; %lld records per chain saved in %s; continue with --resume\n",
        command, signal, settings.step_name.c_str(), step, records, settings.output.c_str());
  } else {
    std::printf("phi4flow %s: done in %.1f s; acceptance %.4f over %lld %s this run; %lld records per chain in %s\n",
                command, seconds, proposed ? static_cast<double>(accepted) / proposed : 0.0, proposed,
                settings.updates_name.c_str(), records, settings.output.c_str());
    // For scaling studies: the rate of the whole job, and of its writes (the file's size over the time in appends,
    // which ends with each block's flush to disk).
    std::printf("phi4flow %s: %.4g %s per second on %d ranks; %s holds %.3g MB, appended in %.3f s (%.3g MB/s)\n",
                command, seconds > 0 ? static_cast<double>(proposed) / seconds : 0.0, settings.updates_name.c_str(),
                comm.size(), settings.output.c_str(), megabytes, write_seconds,
                write_seconds > 0 ? megabytes / write_seconds : 0.0);
  }
  std::fflush(stdout);
}

}  // namespace

io::EnsembleLayout ensemble_layout(const Communicator& comm, const io::Input& input, const io::Settings& settings,
                                   int chains_per_rank, const std::string& rng_key) {
  io::EnsembleLayout layout;
  layout.L = settings.lattice.L;
  layout.n_chains = comm.size() * chains_per_rank;
  layout.first_chain = comm.rank() * chains_per_rank;
  layout.local_chains = chains_per_rank;
  if (settings.run.first_chain + layout.n_chains > 2147483648LL)
    throw InputError("run.first_chain = " + std::to_string(settings.run.first_chain) + " with " +
                     std::to_string(layout.n_chains) + " chains passes the last chain id 2147483647");
  for (int c = 0; c < layout.n_chains; ++c) layout.chain_ids.push_back(settings.run.first_chain + c);
  layout.root = io::provenance(input, comm.size());
  layout.lattice = {{"L", std::int64_t{settings.lattice.L}},
                    {"boundary", std::string("periodic")},
                    {"site_layout", std::string("phi[x1][x2], site index x1 * L + x2")}};
  layout.action = {{"name", std::string("phi4")},
                   {"m2", settings.action.m2},
                   {"lam", settings.action.lam},
                   {"definition", std::string("S = sum_x [sum_mu phi(x)(2 phi(x) - phi(x+mu) - phi(x-mu)) + m2 phi^2 + "
                                              "lam phi^4]")}};
  layout.rng = {{"generator", std::string("Philox4x32-10 (Random123)")},
                {"seed", settings.run.seed},
                {"key", "(seed, purpose); counter (" + rng_key + ")"}};
  return layout;
}

int run_ensemble(const Communicator& comm, Sampler& sampler, const Lattice& lattice, io::EnsembleLayout layout,
                 const EnsembleRunSettings& settings) {
  layout.store_fields = settings.store_fields;
  layout.capacity = settings.steps / settings.measure_every;
  layout.record_scalars = field_observable_names();
  for (const auto& name : sampler.record_scalars()) layout.record_scalars.push_back(name);
  layout.record_vectors = sampler.record_vectors();
  layout.state_values = sampler.state_values();
  io::EnsembleWriter writer = open_writer(comm, layout, settings);
  start_chains(sampler, writer, lattice);

  std::int64_t step = writer.next_step();
  const std::int64_t total = settings.thermalisation + settings.steps;
  if (comm.root() && !settings.headline.empty()) {
    std::printf("%s%s\n", settings.headline.c_str(),
                step > 0 ? (", resuming at " + settings.step_name + " " + std::to_string(step)).c_str() : "");
    std::fflush(stdout);
  }
  Progress progress(settings.command + ": " + settings.step_name, total, settings.progress_interval, comm.root());
  progress.set_start(step);
  DeviceRecordBlock block(layout, settings.flush_every);
  const ObservableMeter meter(lattice, layout.local_chains);

  // One collective: the stop signal of any rank, and whether any rank's sampler failed (then every rank throws the
  // failing rank's message, and the block in progress is dropped: the file keeps what was flushed before).
  const auto agree_on_stop = [&] {
    const std::string failure = sampler.failure();
    int flags[2] = {local_stop_signal(), failure.empty() ? 0 : comm.rank() + 1};
    comm.max(flags, 2);
    if (flags[1]) {
      std::string message = failure;
      comm.broadcast(message, flags[1] - 1);
      throw InputError(message + "; " + settings.output + " keeps the " +
                       std::to_string(writer.records_complete()) + " records per chain flushed before");
    }
    return flags[0];
  };
  double write_seconds = 0.0;
  const auto append = [&](const io::RecordBlock& records) {
    const auto start = std::chrono::steady_clock::now();
    writer.append(records);
    write_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  int signal = 0;
  while (step < total) {
    sampler.advance(step, total - step);
    const std::int64_t measured = step + 1 - settings.thermalisation;
    if (measured > 0 && measured % settings.measure_every == 0) {
      block.record(step, sampler, meter);
      if (block.size() == block.capacity()) {
        agree_on_stop();  // a block is written only if no chain has failed since the last one
        append(block.to_host(sampler, step + 1));
      }
    }
    ++step;
    if (progress.due(step == total)) progress.update(step, acceptance_details(sampler), step == total);
    if ((step % stop_check_every == 0 || step == total) && (signal = agree_on_stop())) break;
  }
  if (block.size() > 0 || signal) append(block.to_host(sampler, step));
  const int stopped_by = step < total ? signal : 0;  // a signal after the last step stops nothing
  close_and_report(comm, writer, sampler, settings, stopped_by, step, progress.elapsed(), write_seconds);
  return stopped_by ? exit_interrupted : 0;
}

}  // namespace phi4flow::run
