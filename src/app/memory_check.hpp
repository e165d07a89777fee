// A memory estimate of every command from its settings, checked before any allocation: a lattice or a batch too
// large for the machine stops with an InputError naming the keys to lower, instead of an allocation failure (or
// the OOM killer) after minutes of work.
//
// The estimate counts the arrays that scale with the run: fields (batch x sites), the equivariant flow's features
// and their spectra (batch x features x sites), the RK4 states kept for the adjoint (ode steps x batch x sites),
// RealNVP's activations (batch x channels x sites) and stored layer outputs, the kernel transforms (time basis x
// features x sites), host record blocks (flush_every x chains x sites), and parameter-sized buffers. Fixed
// overheads (code, MPI, HDF5, FFT plans) are covered by a margin. It errs on the side of a slight over-estimate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phi4flow/io/config.hpp"

namespace phi4flow::app {

/// One array (or group of arrays) of the estimate, and the keys that make it grow.
struct MemoryPart {
  std::string what;
  double bytes = 0.0;
  std::string keys;  ///< e.g. "train.batch_size, flow.ode_steps, lattice.L"
};

struct MemoryEstimate {
  std::vector<MemoryPart> parts;
  double per_rank() const;
  const MemoryPart& largest() const;
};

/// \brief Bytes one rank of `command` (hmc, train, sample, solver-error, symmetry) allocates, by part.
/// `n_ranks` is the number of MPI ranks of the run (train splits its batch over them); `samples` is the batch of
/// solver-error (its --samples). Commands without a large allocation return no parts.
MemoryEstimate estimate_memory(const io::Settings& settings, const std::string& command, int n_ranks, int samples = 0);

/// \brief Bytes this process may still allocate: MemAvailable of /proc/meminfo, lowered to the room left under
/// a cgroup memory limit (containers, SLURM jobs) if there is one; sysconf's available pages otherwise. 0 if
/// unknown (then nothing is refused).
///
/// Hook for device builds: with Kokkos on CUDA (or HIP) the fields live in device memory, so a later change
/// should compare the device part of the estimate with the device's free memory (cudaMemGetInfo, or
/// Kokkos::Cuda's memory info) divided by the ranks sharing the device; today only host memory is checked.
double available_memory_bytes();

/// \brief Throws InputError, with the estimate, what is available and the keys of the largest part, if the
/// `ranks_on_node` ranks of `command` on this node (Environment::ranks_on_node) would need more memory than is
/// available. Call it right after the command's
/// io::validate calls, before the lattice, the model or any field is allocated; run it on rank 0 through
/// check_on_root so that every rank stops alike. solver-error and symmetry run on rank 0 only, so they count
/// one rank per node.
void check_memory(const io::Settings& settings, const std::string& command, int n_ranks, int ranks_on_node,
                  int samples = 0);

/// \brief "1.5 GB", "320 MB", "12 kB": bytes for a message.
std::string format_bytes(double bytes);

}  // namespace phi4flow::app
