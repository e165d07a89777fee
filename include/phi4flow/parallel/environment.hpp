// The MPI + Kokkos environment of one process: initialised in that order, finalised in reverse.
#pragma once

#include <optional>

#include "phi4flow/parallel/communicator.hpp"

namespace phi4flow {

class Environment {
 public:
  /// \brief Initialise MPI, then Kokkos with the --kokkos-* flags, which are removed from argc/argv.
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  /// \brief Ranks of this job that share this process's node (and its memory).
  int ranks_on_node() const { return ranks_on_node_; }
  /// \brief All ranks of the job.
  const Communicator& comm() const { return *world_; }

 private:
  int rank_ = 0;
  int size_ = 1;
  int ranks_on_node_ = 1;
  std::optional<Communicator> world_;  // made once MPI is up
};

}  // namespace phi4flow
