// parallel.reducer turned into a Reducer: the choice's checks, the shared-GPU check NCCL needs, the reducer.
#include "phi4flow/parallel/make_reducer.hpp"

#include <cstdio>
#include <string>
#include <vector>

#include "phi4flow/error.hpp"
#include "phi4flow/parallel/mpi_reducer.hpp"

#if defined(PHI4FLOW_HAVE_NCCL)
#if !defined(KOKKOS_ENABLE_CUDA)
#error "PHI4FLOW_HAVE_NCCL needs a CUDA Kokkos (cmake/Phi4flowDependencies.cmake sets it only then)"
#endif
#include <cuda_runtime.h>

#include "phi4flow/parallel/mpi_comm.hpp"
#include "phi4flow/parallel/nccl_reducer.hpp"
#endif

namespace phi4flow {

bool nccl_reducer_built() {
#if defined(PHI4FLOW_HAVE_NCCL)
  return true;
#else
  return false;
#endif
}

void check_reducer_choice(const std::string& choice) {
  if (choice != "auto" && choice != "mpi" && choice != "nccl") {
    throw InputError("parallel.reducer = '" + choice + "': use auto, mpi or nccl");
  }
  if (choice == "nccl" && !nccl_reducer_built()) {
#if defined(KOKKOS_ENABLE_CUDA)
    const std::string why = "it was configured with -DPHI4FLOW_ENABLE_NCCL=OFF";
#else
    const std::string why = "its Kokkos has no CUDA backend";
#endif
    throw InputError("parallel.reducer = nccl: this build has no NCCL reducer (" + why +
                     "); use parallel.reducer = mpi (or auto), or build with a CUDA Kokkos and NCCL");
  }
}

namespace {

#if defined(PHI4FLOW_HAVE_NCCL)
/// Collective: "ranks a and b share the GPU at PCI d:b:d" for the first two ranks of a node that run on the same
/// GPU (NCCL refuses them), or "" if every rank has its own; the same text on every rank. The PCI address, not the
/// device number: with per-rank CUDA_VISIBLE_DEVICES every rank's GPU is device 0.
std::string shared_gpu(const Communicator& comm) {
  cudaDeviceProp prop{};
  const cudaError_t status = cudaGetDeviceProperties(&prop, Kokkos::Cuda().cuda_device());
  if (status != cudaSuccess) {
    throw RuntimeError("rank " + std::to_string(comm.rank()) + ": cudaGetDeviceProperties failed: " +
                       cudaGetErrorString(status));
  }
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(native(comm), MPI_COMM_TYPE_SHARED, comm.rank(), MPI_INFO_NULL, &node);
  int n = 1;
  MPI_Comm_size(node, &n);
  const int mine[4] = {comm.rank(), prop.pciDomainID, prop.pciBusID, prop.pciDeviceID};
  std::vector<int> all(4 * static_cast<std::size_t>(n));
  MPI_Allgather(mine, 4, MPI_INT, all.data(), 4, MPI_INT, node);
  MPI_Comm_free(&node);
  std::string found;
  for (int i = 0; i < n && found.empty(); ++i) {
    for (int j = i + 1; j < n && found.empty(); ++j) {
      const int* a = &all[4 * i];
      const int* b = &all[4 * j];
      if (a[1] == b[1] && a[2] == b[2] && a[3] == b[3]) {
        char pci[32];
        std::snprintf(pci, sizeof pci, "%04x:%02x:%02x", a[1], a[2], a[3]);
        found = "ranks " + std::to_string(a[0]) + " and " + std::to_string(b[0]) + " share the GPU at PCI " + pci;
      }
    }
  }
  const int reporter = comm.max(found.empty() ? -1 : comm.rank());
  if (reporter >= 0) comm.broadcast(found, reporter);
  return found;
}
#endif

}  // namespace

std::unique_ptr<Reducer> make_reducer(const std::string& choice, const Communicator& comm) {
  check_reducer_choice(choice);
#if defined(PHI4FLOW_HAVE_NCCL)
  if (choice == "nccl" || (choice == "auto" && comm.size() > 1)) {
    const std::string shared = shared_gpu(comm);
    if (shared.empty()) return std::make_unique<NcclReducer>(comm);
    if (choice == "nccl") {
      throw InputError("parallel.reducer = nccl: " + shared +
                       ", and NCCL needs a GPU per rank: run at most one rank per GPU (srun --gpus-per-task=1) or "
                       "use parallel.reducer = mpi");
    }
  }
#endif
  return std::make_unique<MpiReducer>(comm);
}

}  // namespace phi4flow
