// How training talks to the other ranks: sums and maxima over all ranks, behind an interface so that the
// training loop knows nothing of MPI or NCCL (implementations live in parallel/; make_reducer.hpp chooses one).
#pragma once

#include <string>

#include "phi4flow/types.hpp"

namespace phi4flow {

class Reducer {
 public:
  virtual ~Reducer() = default;
  /// \brief In-place sum over all ranks of a buffer in the execution space's memory.
  virtual void sum(const Kokkos::View<real_t*, MemSpace>& buffer) = 0;
  /// \brief Sum of a host number over all ranks.
  virtual double sum(double value) = 0;
  /// \brief Maximum of a host number over all ranks.
  virtual double max(double value) = 0;
  /// \brief What reduces: "mpi", "nccl", "local" (for the run's headline).
  virtual std::string name() const = 0;
};

/// The reducer of a single process: every reduction is the identity.
class LocalReducer final : public Reducer {
 public:
  void sum(const Kokkos::View<real_t*, MemSpace>&) override {}
  double sum(double value) override { return value; }
  double max(double value) override { return value; }
  std::string name() const override { return "local"; }
};

}  // namespace phi4flow
