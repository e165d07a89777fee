// The MPI + Kokkos environment of one process: initialised in that order, finalised in reverse.
#pragma once

#include <mpi.h>

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
  MPI_Comm comm() const { return MPI_COMM_WORLD; }

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace phi4flow
