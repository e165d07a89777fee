// The training loop: steps, history, checkpoints, stop.
#include "phi4flow/run/training_run.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "phi4flow/error.hpp"
#include "phi4flow/run/progress.hpp"
#include "phi4flow/run/stop_request.hpp"

namespace phi4flow::run {

namespace {

/// Keep the history rows up to `step` (a resumed run repeats what came after its checkpoint).
void truncate_history(const std::string& path, std::int64_t step) {
  std::ifstream in(path);
  std::stringstream kept;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == 's' || std::stoll(line.substr(0, line.find(','))) <= step) kept << line << '\n';
  }
  in.close();
  std::ofstream(path) << kept.str();
}

}  // namespace

int run_training(const Communicator& comm, Trainer& trainer, const TrainingRunSettings& settings,
                 const SaveCheckpoint& save) {
  const bool root = comm.root();
  if (root && settings.resume) truncate_history(settings.history, trainer.steps_done());
  if (root && !settings.resume) std::ofstream(settings.history) << "step,loss,ess,lr,seconds\n";
  Progress progress("train: step", settings.steps, 0.0, root);
  progress.set_start(trainer.steps_done());
  progress.set_time_limit(settings.time_limit);
  const auto seconds = [&] { return settings.earlier_seconds + progress.elapsed(); };
  const auto report = [&](std::int64_t step, double loss) {
    const double ess = trainer.effective_sample_size(settings.ess_samples, static_cast<std::uint64_t>(step));
    if (!root) return;
    char details[96];
    std::snprintf(details, sizeof details, "loss %.5f  ESS %.4f  lr %.2e", loss, ess, trainer.learning_rate());
    progress.update(step, details, true);
    std::ofstream(settings.history, std::ios::app)
        << step << ',' << loss << ',' << ess << ',' << trainer.learning_rate() << ',' << seconds() << '\n';
  };

  int signal = 0;
  std::int64_t saved_step = settings.resume ? trainer.steps_done() : -1;  // what the checkpoint file holds
  while (trainer.steps_done() < settings.steps) {
    const std::int64_t step = trainer.steps_done() + 1;
    const double loss = trainer.step();  // the global batch's loss: the same number on every rank
    if (!std::isfinite(loss)) {
      std::string message = "the training loss became " + std::to_string(loss) + " at step " +
                            std::to_string(step) + ": lower train.lr (or raise train.lr_warmup_steps) and start again";
      if (saved_step >= 0) {
        message += ", or continue from the checkpoint " + settings.checkpoint + " (step " + std::to_string(saved_step) +
                   ", before the loss diverged) with train.init_from and a lower train.lr";
      }
      throw InputError(message);
    }
    // One collective per step: any rank's signal, and rank 0's clock for the time limit, so that all ranks stop
    // after the same step.
    int flags[2] = {local_stop_signal(),
                    root && settings.time_limit > 0 && progress.elapsed() >= settings.time_limit ? 1 : 0};
    comm.max(flags, 2);
    signal = flags[0];
    const bool out_of_time = flags[1] != 0;
    const bool last = step == settings.steps || out_of_time;
    if (step % settings.ess_every == 0 || last) report(step, loss);
    if (step % settings.checkpoint_every == 0 || last || signal) {
      if (root) save(seconds());
      saved_step = step;
    }
    if (out_of_time && root) std::printf("phi4flow train: time limit of %.0f s reached\n", settings.time_limit);
    if (signal || out_of_time) break;
  }
  // Where the steps went, for scaling studies: the ranks' mean compute (and the slowest rank's), the mean
  // all-reduce (waiting for the slowest included), the rest.
  const StepTimes& times = trainer.step_times();
  const double per_step = times.steps > 0 ? 1e3 / static_cast<double>(times.steps) : 0.0;
  const double compute = comm.sum(times.compute) / comm.size() * per_step;
  const double slowest = comm.max(times.compute) * per_step;
  const double allreduce = comm.sum(times.allreduce) / comm.size() * per_step;
  const double update = comm.sum(times.update) / comm.size() * per_step;
  if (root && times.steps > 0) {
    std::printf("phi4flow train: per step over the %lld steps of this run, on %d ranks: compute %.3f ms (slowest rank "
                "%.3f ms), all-reduce %.3f ms, update %.3f ms\n",
                static_cast<long long>(times.steps), comm.size(), compute, slowest, allreduce, update);
  }
  if (root) {
    std::printf(signal ? "phi4flow train: stopped by signal after step %lld; checkpoint %s; continue with --resume\n"
                       : "phi4flow train: done at step %lld; checkpoint %s, history %s\n",
                static_cast<long long>(trainer.steps_done()), settings.checkpoint.c_str(), settings.history.c_str());
    std::fflush(stdout);
  }
  return signal ? exit_interrupted : 0;
}

}  // namespace phi4flow::run
