// MPI and Kokkos start-up and shut-down, and on CUDA builds each rank's GPU.
#include "phi4flow/parallel/environment.hpp"

#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#if defined(KOKKOS_ENABLE_CUDA)
#include <cuda_runtime.h>
#endif

namespace phi4flow {

namespace {

#if defined(KOKKOS_ENABLE_CUDA)
/// Whether the user chose the GPU: a Kokkos device flag (Kokkos 3.4 and 4.x spellings) or environment variable.
bool device_chosen_by_user(const std::vector<char*>& kokkos_args) {
  for (const char* flag : {"--kokkos-device-id", "--kokkos-map-device-id-by", "--kokkos-num-devices",
                           "--kokkos-ndevices"}) {
    for (const char* arg : kokkos_args)
      if (std::strncmp(arg, flag, std::strlen(flag)) == 0) return true;
  }
  for (const char* name : {"KOKKOS_DEVICE_ID", "KOKKOS_MAP_DEVICE_ID_BY", "KOKKOS_NUM_DEVICES"}) {
    if (std::getenv(name)) return true;
  }
  return false;
}
#endif

}  // namespace

Environment::Environment(int& argc, char**& argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  world_.emplace(Communicator::world());
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &ranks_on_node_);
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_free(&node);
  // Kokkos 3.4 also answers unprefixed flags such as --help; hand it only its --kokkos-* flags and keep the
  // rest for the application.
  std::vector<char*> kokkos_args = {argv[0]}, app_args = {argv[0]};
  for (int i = 1; i < argc; ++i)
    (std::strncmp(argv[i], "--kokkos-", 9) == 0 ? kokkos_args : app_args).push_back(argv[i]);
#if defined(KOKKOS_ENABLE_CUDA)
  // One GPU per node-local rank, round robin over the visible ones. Passed as the flag a user would give, which
  // Kokkos 3.4 and 4.x both read, so that the user's other --kokkos-* flags still apply (Kokkos 4's
  // InitializationSettings would replace them, 3.4's InitArguments has no command line).
  int visible = 0;
  if (cudaGetDeviceCount(&visible) != cudaSuccess) visible = 0;  // Kokkos::initialize reports the error
  std::string device_flag;
  if (visible > 0 && !device_chosen_by_user(kokkos_args)) {
    device_flag = "--kokkos-device-id=" + std::to_string(local_rank_ % visible);
    kokkos_args.push_back(device_flag.data());
  }
#endif
  kokkos_args.push_back(nullptr);
  int kokkos_argc = static_cast<int>(kokkos_args.size()) - 1;
  Kokkos::initialize(kokkos_argc, kokkos_args.data());
  for (std::size_t i = 0; i < app_args.size(); ++i) argv[i] = app_args[i];
  argc = static_cast<int>(app_args.size());
  argv[argc] = nullptr;
#if defined(KOKKOS_ENABLE_CUDA)
  std::printf("rank %d: GPU %d of %d (local rank %d)\n", rank_, Kokkos::Cuda().cuda_device(),
              visible, local_rank_);
  std::fflush(stdout);
#endif
}

Environment::~Environment() {
  Kokkos::finalize();
  MPI_Finalize();
}

}  // namespace phi4flow
