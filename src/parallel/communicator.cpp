// Collectives over MPI.
#include "phi4flow/parallel/communicator.hpp"

#include <cstdlib>

#include "phi4flow/parallel/mpi_comm.hpp"

#include "phi4flow/error.hpp"

namespace phi4flow {

Communicator::Communicator(std::shared_ptr<const Handle> handle) : handle_(std::move(handle)) {
  MPI_Comm_rank(handle_->comm, &rank_);
  MPI_Comm_size(handle_->comm, &size_);
}

Communicator wrap(MPI_Comm comm) {
  return Communicator(std::make_shared<const Communicator::Handle>(Communicator::Handle{comm}));
}

Communicator Communicator::world() {
  return wrap(MPI_COMM_WORLD);
}

Communicator Communicator::self() {
  return wrap(MPI_COMM_SELF);
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
  return all_reduce(native(*this), value, MPI_SUM);
}
double Communicator::sum(double value) const {
  return all_reduce(native(*this), value, MPI_SUM);
}
int Communicator::max(int value) const {
  return all_reduce(native(*this), value, MPI_MAX);
}
double Communicator::max(double value) const {
  return all_reduce(native(*this), value, MPI_MAX);
}

void Communicator::max(int* values, int n) const {
  MPI_Allreduce(MPI_IN_PLACE, values, n, MPI_INT, MPI_MAX, native(*this));
}

bool Communicator::any(bool flag) const {
  return max(flag ? 1 : 0) != 0;
}

int Communicator::broadcast(int value, int from) const {
  MPI_Bcast(&value, 1, MPI_INT, from, native(*this));
  return value;
}

void Communicator::broadcast(std::string& text, int from) const {
  unsigned long long size = text.size();
  MPI_Bcast(&size, 1, MPI_UNSIGNED_LONG_LONG, from, native(*this));
  text.resize(size);
  if (size > 0) MPI_Bcast(text.data(), static_cast<int>(size), MPI_CHAR, from, native(*this));
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
  MPI_Abort(native(*this), code);
  std::abort();  // MPI_Abort does not return; this tells the compiler so
}

}  // namespace phi4flow
