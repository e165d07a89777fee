// Collectives over MPI.
#include "phi4flow/parallel/communicator.hpp"

#include "phi4flow/error.hpp"

namespace phi4flow {

Communicator::Communicator(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

namespace {
template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<int>() {
  return MPI_INT;
}
template <>
MPI_Datatype mpi_type<long long>() {
  return MPI_LONG_LONG;
}
template <>
MPI_Datatype mpi_type<double>() {
  return MPI_DOUBLE;
}

template <class T>
T all_reduce(MPI_Comm comm, T value, MPI_Op op) {
  T result{};
  MPI_Allreduce(&value, &result, 1, mpi_type<T>(), op, comm);
  return result;
}
}  // namespace

long long Communicator::sum(long long value) const {
  return all_reduce(comm_, value, MPI_SUM);
}
double Communicator::sum(double value) const {
  return all_reduce(comm_, value, MPI_SUM);
}
int Communicator::max(int value) const {
  return all_reduce(comm_, value, MPI_MAX);
}
double Communicator::max(double value) const {
  return all_reduce(comm_, value, MPI_MAX);
}

void Communicator::max(int* values, int n) const {
  MPI_Allreduce(MPI_IN_PLACE, values, n, MPI_INT, MPI_MAX, comm_);
}

bool Communicator::any(bool flag) const {
  return max(flag ? 1 : 0) != 0;
}

int Communicator::broadcast(int value, int from) const {
  MPI_Bcast(&value, 1, MPI_INT, from, comm_);
  return value;
}

void Communicator::broadcast(std::string& text, int from) const {
  unsigned long long size = text.size();
  MPI_Bcast(&size, 1, MPI_UNSIGNED_LONG_LONG, from, comm_);
  text.resize(size);
  if (size > 0) MPI_Bcast(text.data(), static_cast<int>(size), MPI_CHAR, from, comm_);
}

void Communicator::check_on_root(const std::function<void()>& check) const {
  std::string message;
  if (root()) {
    try {
      check();
    } catch (const InputError& e) {
      message = e.what();
      if (message.empty()) message = "invalid input";
    }
  }
  broadcast(message);
  if (!message.empty()) throw InputError(message);
}

void Communicator::abort(int code) const {
  MPI_Abort(comm_, code);
  std::abort();  // MPI_Abort does not return; this tells the compiler so
}

}  // namespace phi4flow
