// Progress lines on rank 0 at a fixed wall-clock cadence: work done, rate, elapsed and remaining time.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>


namespace phi4flow::run {

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

  /// \brief Whether update() would print now: callers build costly details only then.
  bool due(bool force = false) const { return print_ && (force || seconds_since(last_) >= interval_); }

  /// \brief Print a line if the interval has passed (or if `force`); `details` is appended.
  void update(long done, const std::string& details, bool force = false) {
    if (!due(force)) return;
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

}  // namespace phi4flow::run
