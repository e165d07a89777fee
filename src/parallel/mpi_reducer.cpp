// MPI_Allreduce behind the Reducer interface.
#include "phi4flow/parallel/mpi_reducer.hpp"

#include "phi4flow/parallel/mpi_comm.hpp"

namespace phi4flow {

void MpiReducer::sum(const Kokkos::View<real_t*, MemSpace>& buffer) {
  Kokkos::fence();  // the buffer must be complete before MPI reads it
  const int n = static_cast<int>(buffer.extent(0));
  if constexpr (Kokkos::SpaceAccessibility<HostSpace, MemSpace>::accessible) {
    MPI_Allreduce(MPI_IN_PLACE, buffer.data(), n, MPI_DOUBLE, MPI_SUM, native(comm_));
  } else {
    if (host_.extent(0) != buffer.extent(0)) host_ = Kokkos::create_mirror_view(buffer);
    Kokkos::deep_copy(host_, buffer);
    MPI_Allreduce(MPI_IN_PLACE, host_.data(), n, MPI_DOUBLE, MPI_SUM, native(comm_));
    Kokkos::deep_copy(buffer, host_);
  }
}

double MpiReducer::sum(double value) {
  return comm_.sum(value);
}

double MpiReducer::max(double value) {
  return comm_.max(value);
}

}  // namespace phi4flow
