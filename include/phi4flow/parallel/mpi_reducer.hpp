// Reducer over an MPI communicator: MPI_Allreduce of the flat gradient buffer (through a host copy when the
// buffer lives in device memory, so that a non-CUDA-aware MPI works too).
#pragma once

#include "phi4flow/parallel/communicator.hpp"
#include "phi4flow/parallel/reducer.hpp"

namespace phi4flow {

class MpiReducer final : public Reducer {
 public:
  explicit MpiReducer(const Communicator& comm) : comm_(comm) {}
  void sum(const Kokkos::View<real_t*, MemSpace>& buffer) override;
  double sum(double value) override;
  double max(double value) override;
  std::string name() const override { return "mpi"; }

 private:
  Communicator comm_;
  Kokkos::View<real_t*, MemSpace>::HostMirror host_;
};

}  // namespace phi4flow
