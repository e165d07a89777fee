// Reducer over NCCL: the flat gradient-and-loss buffer is summed GPU to GPU by one ncclAllReduce on Kokkos' CUDA
// stream; host numbers (ESS sums, maxima) go through the Communicator (MPI). Built only with a CUDA Kokkos and
// PHI4FLOW_ENABLE_NCCL (nccl_reducer_built() in make_reducer.hpp tells); this header needs neither nccl.h nor CUDA.
//
// Errors: an NCCL or CUDA failure throws RuntimeError naming the rank, the GPU and the call, which main's handler
// turns into MPI_Abort of every rank. The communicator is created collectively (the unique id is broadcast over
// MPI) and its result agreed over MPI, so that one rank's failed init stops all ranks instead of leaving the
// others waiting; sum() waits for its all-reduce by polling the stream and ncclCommGetAsyncError, and aborts the
// NCCL communicator on an asynchronous error (a peer lost, a network failure) rather than waiting forever.
#pragma once

#include <memory>
#include <string>

#include "phi4flow/parallel/communicator.hpp"
#include "phi4flow/parallel/reducer.hpp"

namespace phi4flow {

class NcclReducer final : public Reducer {
 public:
  /// \brief Collective over `comm`: one NCCL rank per MPI rank, on the GPU Kokkos runs on; ranks must not share a GPU.
  explicit NcclReducer(const Communicator& comm);
  ~NcclReducer() override;
  NcclReducer(const NcclReducer&) = delete;
  NcclReducer& operator=(const NcclReducer&) = delete;

  void sum(const Kokkos::View<real_t*, MemSpace>& buffer) override;
  double sum(double value) override;
  double max(double value) override;
  std::string name() const override { return "nccl"; }

 private:
  struct Nccl;  ///< the NCCL communicator (src/parallel/nccl_reducer.cpp)
  Communicator comm_;
  std::unique_ptr<Nccl> nccl_;
};

}  // namespace phi4flow
