// Rank-0 checks broadcast to every rank.
#include "phi4flow/parallel/collective.hpp"

#include <string>

#include "phi4flow/error.hpp"

namespace phi4flow {

void check_on_root(MPI_Comm comm, const std::function<void()>& check) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::string message;
  if (rank == 0) {
    try {
      check();
    } catch (const InputError& e) {
      message = e.what();
      if (message.empty()) message = "invalid input";
    }
  }
  int length = static_cast<int>(message.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, comm);
  if (length == 0) return;
  message.resize(length);
  MPI_Bcast(message.data(), length, MPI_CHAR, 0, comm);
  throw InputError(message);
}

}  // namespace phi4flow
