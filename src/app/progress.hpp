// Progress lines on rank 0 at a fixed wall-clock cadence: work done, rate, elapsed and remaining time.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "phi4flow/io/ensemble.hpp"
#include "phi4flow/parallel/environment.hpp"

namespace phi4flow::app {

class Progress {
 public:
  Progress(std::string what, long total, double interval_seconds, bool print)
      : what_(std::move(what)),
        total_(total),
        interval_(interval_seconds),
        print_(print),
        start_(Clock::now()),
        last_(start_) {}

  double elapsed() const { return seconds_since(start_); }

  /// \brief Print a line if the interval has passed (or if `force`); `details` is appended.
  void update(long done, const std::string& details, bool force = false) {
    if (!print_ || (!force && seconds_since(last_) < interval_)) return;
    last_ = Clock::now();
    const double t = elapsed();
    const double rate = t > 0 ? (done - done_at_start_) / t : 0.0;
    double left = rate > 0 ? (total_ - done) / rate : 0.0;
    if (time_limit_ > 0) left = std::max(0.0, std::min(left, time_limit_ - t));
    std::printf("%s %ld/%ld  %s  %.1f/s  elapsed %s  left %s\n", what_.c_str(), done, total_, details.c_str(), rate,
                format_time(t).c_str(), format_time(left).c_str());
    std::fflush(stdout);
  }

  /// \brief Work already done before this run (a resumed run); excluded from the rate.
  void set_start(long done) { done_at_start_ = done; }

  /// \brief The run stops after this many seconds whatever is left (0: no limit).
  void set_time_limit(double seconds) { time_limit_ = seconds; }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
  static std::string format_time(double s) {
    char text[32];
    if (s < 120)
      std::snprintf(text, sizeof text, "%.0fs", s);
    else if (s < 7200)
      std::snprintf(text, sizeof text, "%.1fmin", s / 60);
    else
      std::snprintf(text, sizeof text, "%.1fh", s / 3600);
    return text;
  }

  std::string what_;
  long total_;
  double interval_;
  bool print_;
  Clock::time_point start_, last_;
  long done_at_start_ = 0;
  double time_limit_ = 0.0;
};

/// \brief End of a sampler run on every rank: sums the acceptance counts of this run over the ranks, closes the
/// ensemble, and prints the closing line on rank 0: where a stopped run can be continued, or the summary
/// (acceptance over the proposed updates of this run, named `updates`) of a finished one.
inline void close_and_report(const Environment& env, io::EnsembleWriter& writer, const char* command,
                             const char* step_name, const char* updates, bool stopped, int signal, long long step,
                             const std::string& output, double seconds, long accepted_local, long proposed_local) {
  long counts[2] = {accepted_local, proposed_local}, sums[2] = {0, 0};
  MPI_Reduce(counts, sums, 2, MPI_LONG, MPI_SUM, 0, env.comm());
  const long long records = writer.records_complete();
  writer.close();
  if (env.rank() != 0) return;
  if (stopped) {
    std::printf(
        "phi4flow %s: stopped by signal %d after %s %lld; %lld records per chain saved in %s; "
        "continue with --resume\n",
        command, signal, step_name, step, records, output.c_str());
  } else {
    std::printf("phi4flow %s: done in %.1f s; acceptance %.4f over %ld %s this run; %lld records per chain in %s\n",
                command, seconds, sums[1] ? static_cast<double>(sums[0]) / sums[1] : 0.0, sums[1], updates, records,
                output.c_str());
  }
}

}  // namespace phi4flow::app
