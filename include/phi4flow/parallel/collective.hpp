// Checks that only rank 0 can make (file system), turned into the same outcome on every rank, so that
// bad input stops all ranks with one message instead of leaving some of them in a collective call.
#pragma once

#include <mpi.h>

#include <functional>

namespace phi4flow {

/// \brief Run `check` on rank 0; if it throws InputError, every rank throws the same InputError.
void check_on_root(MPI_Comm comm, const std::function<void()>& check);

}  // namespace phi4flow
