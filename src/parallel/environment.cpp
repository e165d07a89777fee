// MPI and Kokkos start-up and shut-down.
#include "phi4flow/parallel/environment.hpp"

#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstring>
#include <vector>

namespace phi4flow {

Environment::Environment(int& argc, char**& argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  world_.emplace(Communicator::world());
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &ranks_on_node_);
  MPI_Comm_free(&node);
  // Kokkos 3.4 also answers unprefixed flags such as --help; hand it only its --kokkos-* flags and keep the
  // rest for the application.
  std::vector<char*> kokkos_args = {argv[0]}, app_args = {argv[0]};
  for (int i = 1; i < argc; ++i)
    (std::strncmp(argv[i], "--kokkos-", 9) == 0 ? kokkos_args : app_args).push_back(argv[i]);
  int kokkos_argc = static_cast<int>(kokkos_args.size());
  Kokkos::initialize(kokkos_argc, kokkos_args.data());
  for (std::size_t i = 0; i < app_args.size(); ++i) argv[i] = app_args[i];
  argc = static_cast<int>(app_args.size());
  argv[argc] = nullptr;
}

Environment::~Environment() {
  Kokkos::finalize();
  MPI_Finalize();
}

}  // namespace phi4flow
