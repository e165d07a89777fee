// The lattice phi^4 action and its force, evaluated for every field of a batch (math.md Section 1):
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

  /// \brief Action density at site s of one field, with the kinetic term written on forward links only.
  template <class FieldView>
  KOKKOS_INLINE_FUNCTION static double site_action(const Lattice& lat, const Couplings& c, const FieldView& phi,
                                                   int b, int s) {
    const double p = phi(b, s);
    const double hop = phi(b, lat.neighbour(s, 0, +1)) + phi(b, lat.neighbour(s, 1, +1));
    const double p2 = p * p;
    return (4.0 + c.m2) * p2 + c.lam * p2 * p2 - 2.0 * p * hop;
  }

  template <class FieldView>
  KOKKOS_INLINE_FUNCTION static double site_force(const Lattice& lat, const Couplings& c, const FieldView& phi,
                                                  int b, int s) {
    const double p = phi(b, s);
    const double hop = phi(b, lat.neighbour(s, 0, +1)) + phi(b, lat.neighbour(s, 0, -1)) +
                       phi(b, lat.neighbour(s, 1, +1)) + phi(b, lat.neighbour(s, 1, -1));
    return 2.0 * (4.0 + c.m2) * p - 2.0 * hop + 4.0 * c.lam * p * p * p;
  }

 private:
  Lattice lattice_;
  Couplings couplings_;
};

}  // namespace phi4flow
