// Collectives over MPI.
#include "phi4flow/parallel/communicator.hpp"

#include "phi4flow/error.hpp"

namespace phi4flow {

Communicator::Communicator(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

long long Communicator::sum(long long value) const {
  long long total = 0;
  MPI_Allreduce(&value, &total, 1, MPI_LONG_LONG, MPI_SUM, comm_);
  return total;
}

double Communicator::sum(double value) const {
  double total = 0.0;
  MPI_Allreduce(&value, &total, 1, MPI_DOUBLE, MPI_SUM, comm_);
  return total;
}

int Communicator::max(int value) const {
  int result = 0;
  MPI_Allreduce(&value, &result, 1, MPI_INT, MPI_MAX, comm_);
  return result;
}

double Communicator::max(double value) const {
  double result = 0.0;
  MPI_Allreduce(&value, &result, 1, MPI_DOUBLE, MPI_MAX, comm_);
  return result;
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
