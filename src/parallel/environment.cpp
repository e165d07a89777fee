// MPI and Kokkos start-up and shut-down, and on CUDA builds each rank's GPU.
#include "phi4flow/parallel/environment.hpp"

#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
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

/// On rank 0: "N ranks on M nodes: host1 (ranks 0-1), host2 (ranks 2-3), ..." from every rank's processor name
/// (the first 8 nodes named); empty elsewhere. Collective.
std::string gather_placement(int rank, int size) {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MPI_Get_processor_name(name, &length);
  std::vector<char> all(rank == 0 ? static_cast<std::size_t>(size) * MPI_MAX_PROCESSOR_NAME : 0);
  MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (rank != 0) return {};
  std::vector<std::string> order;  // hosts in order of their first rank
  std::map<std::string, std::vector<int>> ranks;
  for (int r = 0; r < size; ++r) {
    const std::string host(&all[static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME]);
    if (ranks[host].empty()) order.push_back(host);
    ranks[host].push_back(r);
  }
  std::string text = std::to_string(size) + (size == 1 ? " rank" : " ranks") + " on " + std::to_string(order.size()) +
                     (order.size() == 1 ? " node: " : " nodes: ");
  for (std::size_t h = 0; h < order.size() && h < 8; ++h) {
    const std::vector<int>& mine = ranks[order[h]];
    const bool contiguous = mine.back() - mine.front() + 1 == static_cast<int>(mine.size());
    text += (h ? ", " : "") + order[h] + " (" +
            (mine.size() == 1 ? "rank " + std::to_string(mine[0])
             : contiguous     ? "ranks " + std::to_string(mine.front()) + "-" + std::to_string(mine.back())
                              : std::to_string(mine.size()) + " ranks") +
            ")";
  }
  if (order.size() > 8) text += ", ...";
  return text;
}

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
  placement_ = gather_placement(rank_, size_);
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
