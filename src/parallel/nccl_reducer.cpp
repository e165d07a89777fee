// ncclAllReduce behind the Reducer interface; compiled only with a CUDA Kokkos and NCCL (src/CMakeLists.txt).
#include "phi4flow/parallel/nccl_reducer.hpp"

#include <cuda_runtime.h>
#include <nccl.h>

#include <exception>
#include <string>
#include <thread>
#include <type_traits>

#include "phi4flow/error.hpp"
#include "phi4flow/parallel/mpi_comm.hpp"

namespace phi4flow {

static_assert(std::is_same<ExecSpace, Kokkos::Cuda>::value,
              "the NCCL reducer runs on Kokkos' CUDA stream: the default execution space must be Kokkos::Cuda");
static_assert(std::is_same<real_t, double>::value, "the all-reduce sums ncclDouble");

struct NcclReducer::Nccl {
  ncclComm_t comm = nullptr;
  int rank = 0;
  int device = -1;

  /// "rank r (GPU d): NCCL <call> failed: <error> (<NCCL's last message>)"
  [[noreturn]] void fail(const std::string& call, ncclResult_t result) const {
    std::string message = "rank " + std::to_string(rank) + " (GPU " + std::to_string(device) + "): NCCL " + call +
                          " failed: " + ncclGetErrorString(result);
    const char* last = ncclGetLastError(comm);
    if (last && *last) message += std::string(" (") + last + ")";
    throw RuntimeError(message + "; NCCL_DEBUG=WARN tells more");
  }
  void check(ncclResult_t result, const std::string& call) const {
    if (result != ncclSuccess) fail(call, result);
  }
  void check(cudaError_t result, const std::string& call) const {
    if (result != cudaSuccess) {
      throw RuntimeError("rank " + std::to_string(rank) + " (GPU " + std::to_string(device) + "): CUDA " + call +
                         " failed: " + cudaGetErrorString(result));
    }
  }
};

NcclReducer::NcclReducer(const Communicator& comm) : comm_(comm), nccl_(std::make_unique<Nccl>()) {
  nccl_->rank = comm.rank();
  nccl_->device = ExecSpace().cuda_device();
  // Rank 0's unique id, broadcast over MPI together with whether rank 0 could make one (else every rank stops).
  ncclUniqueId id{};
  int root_result = ncclSuccess;
  if (comm.root()) root_result = ncclGetUniqueId(&id);
  root_result = comm.broadcast(root_result);
  if (root_result != ncclSuccess) {
    throw RuntimeError("rank " + std::to_string(comm.rank()) + " (GPU " + std::to_string(nccl_->device) +
                       "): NCCL ncclGetUniqueId failed on rank 0: " +
                       ncclGetErrorString(static_cast<ncclResult_t>(root_result)));
  }
  MPI_Bcast(&id, static_cast<int>(sizeof id), MPI_BYTE, 0, native(comm));
  nccl_->check(cudaSetDevice(nccl_->device), "cudaSetDevice");
  // Blocking init. A rank whose init fails throws at once (no agreement over MPI: the others may still be inside
  // ncclCommInitRank), and main's handler's MPI_Abort ends the ranks that wait for it.
  nccl_->check(ncclCommInitRank(&nccl_->comm, comm.size(), id, comm.rank()), "ncclCommInitRank");
}

NcclReducer::~NcclReducer() {
  if (!nccl_->comm) return;
  // While an exception unwinds (a failure here or elsewhere on this rank), peers may never finish with us: abort
  // frees this rank's resources without waiting for them; otherwise destroy after the last, completed all-reduce.
  if (std::uncaught_exceptions() > 0) {
    ncclCommAbort(nccl_->comm);
  } else {
    ncclCommDestroy(nccl_->comm);
  }
}

void NcclReducer::sum(const Kokkos::View<real_t*, MemSpace>& buffer) {
  const std::size_t n = buffer.extent(0);
  if (n == 0) return;
  // On Kokkos' stream, after the kernels that filled the buffer; in place.
  const cudaStream_t stream = ExecSpace().cuda_stream();
  nccl_->check(ncclAllReduce(buffer.data(), buffer.data(), n, ncclDouble, ncclSum, nccl_->comm, stream),
               "ncclAllReduce");
  // Wait for it without blocking in CUDA: an asynchronous NCCL error (a lost peer, the network) would otherwise
  // leave this rank waiting forever; on one, abort the communicator and throw.
  for (;;) {
    const cudaError_t done = cudaStreamQuery(stream);
    if (done == cudaSuccess) return;
    if (done != cudaErrorNotReady) nccl_->check(done, "cudaStreamQuery after ncclAllReduce");
    ncclResult_t async = ncclSuccess;
    nccl_->check(ncclCommGetAsyncError(nccl_->comm, &async), "ncclCommGetAsyncError");
    if (async != ncclSuccess && async != ncclInProgress) {
      const ncclComm_t failed = nccl_->comm;
      nccl_->comm = nullptr;
      ncclCommAbort(failed);
      nccl_->fail("ncclAllReduce (asynchronous error)", async);
    }
    std::this_thread::yield();
  }
}

double NcclReducer::sum(double value) {
  return comm_.sum(value);
}

double NcclReducer::max(double value) {
  return comm_.max(value);
}

}  // namespace phi4flow
