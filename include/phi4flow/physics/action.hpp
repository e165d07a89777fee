// The lattice phi^4 action and its force, evaluated for every field of a batch (the README and docs/file-format.md state it):
//   S(phi) = sum_x [ sum_mu phi(x) (2 phi(x) - phi(x+mu) - phi(x-mu)) + m2 phi(x)^2 + lam phi(x)^4 ].
#pragma once

#include "phi4flow/lattice/lattice.hpp"
#include "phi4flow/types.hpp"

namespace phi4flow {

struct Couplings {
  double m2 = -4.0;
  double lam = 0.0;
};

class Phi4Action {
 public:
  /// \brief Throws InputError for lam < 0 (unbounded action) or lam = 0 with m2 <= 0.
  Phi4Action(const Lattice& lattice, const Couplings& couplings);

  const Lattice& lattice() const { return lattice_; }
  const Couplings& couplings() const { return couplings_; }

  /// \brief S(phi_b) for every field b of the batch.
  void action(const ConstFieldBatch& phi, const BatchScalars& S) const;
  /// \brief dS/dphi(x) for every field and site.
  void force(const ConstFieldBatch& phi, const FieldBatch& dS) const;
  /// \brief out += scale * dS/dphi: the HMC momentum update without a force buffer (less memory traffic).
  void accumulate_force(const ConstFieldBatch& phi, double scale, const FieldBatch& out) const;

  /// \brief Action density at site (x1, x2) of field b, the kinetic term written on forward links only.
  template <class FieldView>
  KOKKOS_INLINE_FUNCTION static double site_action(int L, const Couplings& c, const FieldView& phi, int b, int x1,
                                                   int x2) {
    const double p = phi(b, x1 * L + x2);
    const double hop = phi(b, up(x1, L) * L + x2) + phi(b, x1 * L + up(x2, L));
    const double p2 = p * p;
    return (4.0 + c.m2) * p2 + c.lam * p2 * p2 - 2.0 * p * hop;
  }

  /// \brief dS/dphi at site (x1, x2) of field b.
  template <class FieldView>
  KOKKOS_INLINE_FUNCTION static double site_force(int L, const Couplings& c, const FieldView& phi, int b, int x1,
                                                  int x2) {
    const double p = phi(b, x1 * L + x2);
    const double hop = phi(b, up(x1, L) * L + x2) + phi(b, down(x1, L) * L + x2) + phi(b, x1 * L + up(x2, L)) +
                       phi(b, x1 * L + down(x2, L));
    return 2.0 * (4.0 + c.m2) * p - 2.0 * hop + 4.0 * c.lam * p * p * p;
  }

 private:
  // Periodic neighbours by comparison: kernels avoid integer division on the hot path.
  KOKKOS_INLINE_FUNCTION static int up(int x, int L) { return x + 1 == L ? 0 : x + 1; }
  KOKKOS_INLINE_FUNCTION static int down(int x, int L) { return x == 0 ? L - 1 : x - 1; }

  Lattice lattice_;
  Couplings couplings_;
};

}  // namespace phi4flow
