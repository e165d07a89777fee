// MPI and Kokkos start-up and shut-down.
#include "phi4flow/parallel/environment.hpp"

#include <Kokkos_Core.hpp>

namespace phi4flow {

Environment::Environment(int& argc, char**& argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  Kokkos::initialize(argc, argv);
}

Environment::~Environment() {
  Kokkos::finalize();
  MPI_Finalize();
}

}  // namespace phi4flow
