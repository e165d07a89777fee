// Which Reducer a run uses: the user's parallel.reducer (auto | mpi | nccl) turned into one, with the checks that
// make a bad choice an input error on every rank instead of a failure inside NCCL.
#pragma once

#include <memory>
#include <string>

#include "phi4flow/parallel/communicator.hpp"
#include "phi4flow/parallel/reducer.hpp"

namespace phi4flow {

/// \brief Whether this build has the NCCL reducer: a CUDA Kokkos, configured with PHI4FLOW_ENABLE_NCCL (the default).
bool nccl_reducer_built();

/// \brief Checks the value of parallel.reducer without any communication: one of auto, mpi, nccl, and nccl only on
/// a build that has it. Throws InputError naming parallel.reducer and the fix.
void check_reducer_choice(const std::string& choice);

/// \brief Collective over `comm`: the reducer that `choice` names. "mpi": MpiReducer. "nccl": NcclReducer, refused
/// (InputError naming parallel.reducer) on a build without NCCL or when two ranks of a node share a GPU, which NCCL
/// does not support. "auto": NCCL when the Kokkos backend is CUDA, there is more than one rank, NCCL is built and
/// every rank has a GPU of its own; MPI otherwise. Every rank gets the same kind.
std::unique_ptr<Reducer> make_reducer(const std::string& choice, const Communicator& comm);

}  // namespace phi4flow
