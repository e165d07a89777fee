// The MPI + Kokkos environment of one process: initialised in that order, finalised in reverse. On a CUDA Kokkos
// every rank takes the GPU of its node-local rank (local rank % visible GPUs) unless the user chose one.
#pragma once

#include <optional>
#include <string>

#include "phi4flow/parallel/communicator.hpp"

namespace phi4flow {

class Environment {
 public:
  /// \brief Initialise MPI, then Kokkos with the --kokkos-* flags, which are removed from argc/argv. On a CUDA
  /// Kokkos, Kokkos gets --kokkos-device-id = local_rank() % (visible GPUs) unless --kokkos-device-id,
  /// --kokkos-map-device-id-by or --kokkos-num-devices (or KOKKOS_DEVICE_ID, KOKKOS_MAP_DEVICE_ID_BY,
  /// KOKKOS_NUM_DEVICES) was given, and every rank prints "rank r: GPU d of n (local rank l)"; a CPU build prints
  /// nothing.
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  /// \brief Ranks of this job that share this process's node (and its memory).
  int ranks_on_node() const { return ranks_on_node_; }
  /// \brief This process's rank among them (0 .. ranks_on_node() - 1): its GPU on a CUDA build.
  int local_rank() const { return local_rank_; }
  /// \brief All ranks of the job.
  const Communicator& comm() const { return *world_; }
  /// \brief On rank 0, where the ranks run: "4 ranks on 2 nodes: node1 (ranks 0-1), node2 (ranks 2-3)".
  const std::string& placement() const { return placement_; }

 private:
  int rank_ = 0;
  int size_ = 1;
  int ranks_on_node_ = 1;
  int local_rank_ = 0;
  std::string placement_;
  std::optional<Communicator> world_;  // made once MPI is up
};

}  // namespace phi4flow
