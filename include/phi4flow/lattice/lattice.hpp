// Geometry of the periodic L x L lattice: site indexing, neighbours, the 8 L^2 lattice symmetries and the
// D4 orbits of displacements. Sites are x = (x1, x2) with 0 <= xi < L, stored at s = x1 * L + x2.
#pragma once

#include <Kokkos_Core.hpp>
#include <vector>

namespace phi4flow {

struct Site {
  int x1;
  int x2;
};

/// One element of the lattice symmetry group C_L^2 x| D4: first the point-group element d (rotation by
/// d % 4 quarter turns, preceded by the mirror x1 <-> x2 when d >= 4), then the translation by (t1, t2).
struct LatticeSymmetry {
  int d = 0;
  int t1 = 0;
  int t2 = 0;
};

class Lattice {
 public:
  Lattice() = default;
  /// \brief A periodic L x L lattice; throws InputError for L < 2.
  explicit Lattice(int L);

  KOKKOS_INLINE_FUNCTION int extent() const { return L_; }
  KOKKOS_INLINE_FUNCTION int volume() const { return L_ * L_; }
  KOKKOS_INLINE_FUNCTION int index(int x1, int x2) const { return wrap(x1) * L_ + wrap(x2); }
  KOKKOS_INLINE_FUNCTION Site coords(int s) const { return Site{s / L_, s % L_}; }
  KOKKOS_INLINE_FUNCTION int wrap(int x) const { return ((x % L_) + L_) % L_; }

  /// \brief Neighbour of site s in direction mu (0: x1, 1: x2), forward (sign = +1) or backward (-1).
  KOKKOS_INLINE_FUNCTION int neighbour(int s, int mu, int sign) const {
    const int x1 = s / L_, x2 = s % L_;
    return mu == 0 ? index(x1 + sign, x2) : index(x1, x2 + sign);
  }

  /// \brief Image of displacement or site (x1, x2) under the point-group element d in [0, 8), mod L.
  KOKKOS_INLINE_FUNCTION Site point_group(int d, int x1, int x2) const {
    if (d >= 4) {
      const int tmp = x1;
      x1 = x2;
      x2 = tmp;
    }
    for (int k = 0; k < d % 4; ++k) {  // quarter turn (x1, x2) -> (-x2, x1)
      const int tmp = x1;
      x1 = -x2;
      x2 = tmp;
    }
    return Site{wrap(x1), wrap(x2)};
  }

  /// \brief Site that s is mapped to by the symmetry g.
  KOKKOS_INLINE_FUNCTION int apply(const LatticeSymmetry& g, int s) const {
    const Site c = coords(s);
    const Site r = point_group(g.d, c.x1, c.x2);
    return index(r.x1 + g.t1, r.x2 + g.t2);
  }

  /// \brief All 8 L^2 elements of the symmetry group.
  std::vector<LatticeSymmetry> symmetries() const;

  /// \brief Number of D4 orbits of displacements r (mod L).
  int orbit_count() const;
  /// \brief orbit_of()[s] is the orbit index of the displacement stored at site s; orbit 0 is r = 0.
  /// Orbits are numbered in increasing order of their smallest member's site index.
  std::vector<int> orbit_of() const;

 private:
  int L_ = 0;
};

}  // namespace phi4flow
