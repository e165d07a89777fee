// The one gateway to MPI for everything above parallel/ and io/: a communicator with the few collectives the
// runs need (sums, maxima, broadcasts, rank-0 checks). Commands, samplers and loops talk to other ranks only
// through it; this header does not include mpi.h, so nothing above this layer sees MPI. The MPI handle is
// reached through parallel/mpi_comm.hpp, by parallel/ and io/ only.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace phi4flow {

class Communicator {
 public:
  /// \brief All ranks of the job, and this process alone (MPI must be initialised).
  static Communicator world();
  static Communicator self();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
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

  struct Handle;  ///< the MPI communicator (parallel/mpi_comm.hpp)
  explicit Communicator(std::shared_ptr<const Handle> handle);
  const Handle& handle() const { return *handle_; }

 private:
  std::shared_ptr<const Handle> handle_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace phi4flow
