// The type aliases every module uses: the real type, the execution and memory spaces, and the Views that
// hold a batch of fields (batch x sites, LayoutRight so that one field is contiguous).
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <string>

namespace phi4flow {

using real_t = double;
using index_t = int;

using ExecSpace = Kokkos::DefaultExecutionSpace;
using MemSpace = ExecSpace::memory_space;
using HostSpace = Kokkos::HostSpace;

/// A batch of fields: field b at site s is batch(b, s).
using FieldBatch = Kokkos::View<real_t**, Kokkos::LayoutRight, MemSpace>;
using ConstFieldBatch = Kokkos::View<const real_t**, Kokkos::LayoutRight, MemSpace>;
/// The same in another precision (the flow's float arithmetic, flow.precision = single).
template <class Real>
using FieldBatchOf = Kokkos::View<Real**, Kokkos::LayoutRight, MemSpace>;
/// One number per field of a batch (action, log density, ...).
using BatchScalars = Kokkos::View<real_t*, MemSpace>;
using ConstBatchScalars = Kokkos::View<const real_t*, MemSpace>;
using HostFieldBatch = FieldBatch::HostMirror;
using HostBatchScalars = BatchScalars::HostMirror;

/// \brief Allocation properties for a View that is written before it is read: no fill with zeros.
inline auto uninitialized(const std::string& label) {
  return Kokkos::view_alloc(Kokkos::WithoutInitializing, label);
}

/// Math functions moved from Kokkos::Experimental to Kokkos in 3.7; kernels call them through here.
namespace kmath {
#if KOKKOS_VERSION >= 30700
using Kokkos::cos;
using Kokkos::exp;
using Kokkos::fabs;
using Kokkos::log;
using Kokkos::sin;
using Kokkos::sqrt;
using Kokkos::tanh;
#else
using Kokkos::Experimental::cos;
using Kokkos::Experimental::exp;
using Kokkos::Experimental::fabs;
using Kokkos::Experimental::log;
using Kokkos::Experimental::sin;
using Kokkos::Experimental::sqrt;
using Kokkos::Experimental::tanh;
#endif
}  // namespace kmath

}  // namespace phi4flow
