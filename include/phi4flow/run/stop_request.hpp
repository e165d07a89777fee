// Graceful stop on SIGTERM, SIGINT or SIGUSR1 (SLURM's warning before the time limit): the signal only sets
// a flag; the run loops ask all ranks at fixed steps whether any rank saw it (Communicator::max), write what
// they have and exit.
#pragma once

#include <csignal>

namespace phi4flow::run {

namespace detail {
inline volatile std::sig_atomic_t stop_signal = 0;
inline void record_signal(int signal) {
  stop_signal = signal;
}
}  // namespace detail

/// Exit status of a run that stopped early on a signal after saving its work; resume it with --resume.
inline constexpr int exit_interrupted = 3;

/// \brief Route SIGTERM, SIGINT and SIGUSR1 to the stop flag. main() does it first thing for the commands with a
/// run loop, so that a signal during setup is a stop request too, not the default action that kills the rank.
inline void install_stop_handlers() {
  std::signal(SIGTERM, detail::record_signal);
  std::signal(SIGINT, detail::record_signal);
  std::signal(SIGUSR1, detail::record_signal);
}

/// \brief The signal this process received since the handlers were installed, or 0.
inline int local_stop_signal() {
  return detail::stop_signal;
}

}  // namespace phi4flow::run
