// The one gateway to MPI for everything above parallel/ and io/: a communicator with the few collectives the
// runs need (sums, maxima, broadcasts, rank-0 checks). Commands, samplers and loops talk to other ranks only
// through it, so that no header above this layer names MPI.
#pragma once

#include <mpi.h>

#include <functional>
#include <string>

namespace phi4flow {

class Communicator {
 public:
  /// \brief Wraps `comm` (not owned; MPI_COMM_WORLD by default).
  Communicator(MPI_Comm comm = MPI_COMM_WORLD);  // NOLINT: implicit, so MPI code can pass its MPI_Comm

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
  /// \brief The MPI handle, for parallel/ and io/ (parallel HDF5) only.
  MPI_Comm native() const { return comm_; }

  /// \brief Collective sums and maxima of host numbers.
  long long sum(long long value) const;
  double sum(double value) const;
  int max(int value) const;
  double max(double value) const;
  /// \brief Collective element-wise maximum of n ints, in place (several flags in one call).
  void max(int* values, int n) const;
  /// \brief Collective: true on every rank if `flag` is true on any rank.
  bool any(bool flag) const;

  /// \brief Collective: rank `from`'s value on every rank.
  int broadcast(int value, int from = 0) const;
  void broadcast(std::string& text, int from = 0) const;

  /// \brief Run `check` on rank 0; if it throws InputError, every rank throws the same InputError. For checks
  /// only rank 0 can make (the file system), so that bad input stops all ranks with one message.
  void check_on_root(const std::function<void()>& check) const;

  /// \brief End every rank of the job now (after a failure that the other ranks cannot know of).
  [[noreturn]] void abort(int code) const;

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace phi4flow
