// Graceful stop on SIGTERM, SIGINT or SIGUSR1 (SLURM's warning before the time limit): the signal only sets
// a flag; the run loops ask all ranks at fixed steps whether any rank saw it (Communicator::max), write what
// they have and exit.
//
// SIGTERM and SIGINT also arm a watchdog: a rank that has not ended stop_grace_seconds later exits by itself. That
// is what happens when a rank died: the scheduler (srun --kill-on-bad-exit, mpirun) sends SIGTERM to the others,
// which sit in a collective waiting for the dead rank and would otherwise hang until SIGKILL (SLURM's KillWait,
// often 30 s or more). What was committed before stays (ensemble blocks, checkpoints are written atomically).
#pragma once

#include <unistd.h>

#include <csignal>

namespace phi4flow::run {

/// Seconds a rank has to stop after SIGTERM or SIGINT before the watchdog ends it (saving takes far less).
inline constexpr unsigned stop_grace_seconds = 15;
/// Exit status of a rank the watchdog ended: that of a process killed by SIGTERM.
inline constexpr int exit_not_stopped = 128 + SIGTERM;
static_assert(stop_grace_seconds == 15, "the watchdog's message states the grace period");

namespace detail {
inline volatile std::sig_atomic_t stop_signal = 0;
inline void watchdog_expired(int) {
  static const char message[] =
      "phi4flow: not stopped 15 s after SIGTERM (a collective waiting for a rank that died?): exiting; the files "
      "keep what was committed before\n";
  (void)!::write(STDERR_FILENO, message, sizeof message - 1);
  ::_exit(exit_not_stopped);
}
inline void record_signal(int signal) {
  if ((signal == SIGTERM || signal == SIGINT) && stop_signal != SIGTERM && stop_signal != SIGINT)
    ::alarm(stop_grace_seconds);
  stop_signal = signal;
}
}  // namespace detail

/// Exit status of a run that stopped early on a signal after saving its work; resume it with --resume.
inline constexpr int exit_interrupted = 3;

/// \brief Route SIGTERM, SIGINT and SIGUSR1 to the stop flag (and SIGALRM to the watchdog). main() does it first
/// thing for the commands with a run loop, so that a signal during setup is a stop request too, not the default
/// action that kills the rank.
inline void install_stop_handlers() {
  std::signal(SIGTERM, detail::record_signal);
  std::signal(SIGINT, detail::record_signal);
  std::signal(SIGUSR1, detail::record_signal);
  std::signal(SIGALRM, detail::watchdog_expired);
}

/// \brief The signal this process received since the handlers were installed, or 0.
inline int local_stop_signal() {
  return detail::stop_signal;
}

}  // namespace phi4flow::run
