// The MPI side of a Communicator, for the code that calls MPI itself: parallel/ and io/'s parallel HDF5. Everything
// else holds Communicators and never sees this header (tests/cli/check_layers.py keeps it so).
#pragma once

#include <mpi.h>

#include "phi4flow/parallel/communicator.hpp"

namespace phi4flow {

struct Communicator::Handle {
  MPI_Comm comm;  ///< not owned
};

/// \brief The MPI communicator behind `comm`.
inline MPI_Comm native(const Communicator& comm) {
  return comm.handle().comm;
}

/// \brief A Communicator over an existing MPI communicator (not owned; it must outlive every copy).
Communicator wrap(MPI_Comm comm);

}  // namespace phi4flow
