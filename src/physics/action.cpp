// Kokkos kernels for the phi^4 action and force.
#include "phi4flow/physics/action.hpp"

#include <string>

#include "phi4flow/error.hpp"
#include "phi4flow/row_sums.hpp"

namespace phi4flow {

Phi4Action::Phi4Action(const Lattice& lattice, const Couplings& couplings) : lattice_(lattice), couplings_(couplings) {
  if (!(couplings.lam >= 0.0)) {
    throw InputError("action.lam = " + std::to_string(couplings.lam) +
                     " makes the action unbounded below: use lam >= 0");
  }
  if (couplings.lam == 0.0 && !(couplings.m2 > 0.0)) {
    throw InputError("action.m2 = " + std::to_string(couplings.m2) +
                     " with lam = 0 makes the free field unstable: use m2 > 0 or lam > 0");
  }
}

void Phi4Action::action(const ConstFieldBatch& phi, const BatchScalars& S) const {
  const int L = lattice_.extent();
  const Couplings c = couplings_;
  for_each_row_sum(
      "phi4flow::Phi4Action::action", static_cast<int>(phi.extent(0)), L,
      KOKKOS_LAMBDA(const int b, const int x1, double& partial) {
        for (int x2 = 0; x2 < L; ++x2) partial += site_action(L, c, phi, b, x1, x2);
      },
      KOKKOS_LAMBDA(const int b, const double sum) { S(b) = sum; });
}

// Not in an unnamed namespace: nvcc rejects device lambdas inside functions with internal linkage.
namespace detail {
/// update(out(b, x), dS/dphi(x)) at every site of every field: the force written or accumulated in one pass.
template <class Update>
void for_each_site_force(const char* label, const Lattice& lattice, const Couplings& c, const ConstFieldBatch& phi,
                         const FieldBatch& out, const Update& update) {
  const int L = lattice.extent();
  Kokkos::parallel_for(
      // x2 fastest: consecutive threads touch consecutive sites of a field on every backend.
      label,
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3, Kokkos::Iterate::Right, Kokkos::Iterate::Right>>(
          {0, 0, 0}, {static_cast<int>(phi.extent(0)), L, L}),
      KOKKOS_LAMBDA(const int b, const int x1, const int x2) {
        update(out(b, x1 * L + x2), Phi4Action::site_force(L, c, phi, b, x1, x2));
      });
}
}  // namespace detail

void Phi4Action::force(const ConstFieldBatch& phi, const FieldBatch& dS) const {
  detail::for_each_site_force("phi4flow::Phi4Action::force", lattice_, couplings_, phi, dS,
                      KOKKOS_LAMBDA(double& out, const double f) { out = f; });
}

void Phi4Action::accumulate_force(const ConstFieldBatch& phi, double scale, const FieldBatch& out) const {
  detail::for_each_site_force("phi4flow::Phi4Action::accumulate_force", lattice_, couplings_, phi, out,
                      KOKKOS_LAMBDA(double& o, const double f) { o += scale * f; });
}

}  // namespace phi4flow
