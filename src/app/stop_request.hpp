// Graceful stop on SIGTERM, SIGINT or SIGUSR1 (SLURM's warning before the time limit): the signal only sets
// a flag; the run loop asks all ranks at fixed steps whether any rank saw it, writes what it has and exits.
#pragma once

#include <mpi.h>

#include <csignal>

namespace phi4flow::app {

namespace detail {
inline volatile std::sig_atomic_t stop_signal = 0;
inline void record_signal(int signal) {
  stop_signal = signal;
}
}  // namespace detail

/// Exit status of a run that stopped early on a signal after saving its work; resume it with --resume.
inline constexpr int exit_interrupted = 3;

/// \brief Route SIGTERM, SIGINT and SIGUSR1 to the stop flag.
inline void install_stop_handlers() {
  std::signal(SIGTERM, detail::record_signal);
  std::signal(SIGINT, detail::record_signal);
  std::signal(SIGUSR1, detail::record_signal);
}

/// \brief Collective: the signal number if any rank received one, else 0.
inline int stop_requested(MPI_Comm comm) {
  int local = detail::stop_signal, any = 0;
  MPI_Allreduce(&local, &any, 1, MPI_INT, MPI_MAX, comm);
  return any;
}

}  // namespace phi4flow::app
