// Lattice symmetries and D4 orbits of displacements.
#include "phi4flow/lattice/lattice.hpp"

#include <algorithm>
#include <string>

#include "phi4flow/error.hpp"

namespace phi4flow {

Lattice::Lattice(int L) : L_(L) {
  if (L < 2) {
    throw InputError("lattice.L = " + std::to_string(L) + " is too small: the lattice needs L >= 2");
  }
  // Sites are indexed by int (and 8 L^2 symmetry images with them): L^2 must fit with room to spare.
  constexpr int max_extent = 46340;  // floor(sqrt(2^31 - 1))
  if (L > max_extent) {
    throw InputError("lattice.L = " + std::to_string(L) + " is too large: site indices are 32-bit, so L <= " +
                     std::to_string(max_extent));
  }
}

std::vector<LatticeSymmetry> Lattice::symmetries() const {
  std::vector<LatticeSymmetry> group;
  group.reserve(8 * static_cast<std::size_t>(volume()));
  for (int d = 0; d < 8; ++d)
    for (int t1 = 0; t1 < L_; ++t1)
      for (int t2 = 0; t2 < L_; ++t2) group.push_back({d, t1, t2});
  return group;
}

std::vector<int> Lattice::orbit_of() const {
  const int n = volume();
  std::vector<int> orbit(n, -1);
  int next = 0;
  for (int s = 0; s < n; ++s) {  // s is the smallest member of its orbit the first time we meet it
    if (orbit[s] >= 0) continue;
    const Site c = coords(s);
    for (int d = 0; d < 8; ++d) {
      const Site r = point_group(d, c.x1, c.x2);
      orbit[index(r.x1, r.x2)] = next;
    }
    ++next;
  }
  return orbit;
}

int Lattice::orbit_count() const {
  const std::vector<int> orbit = orbit_of();
  return *std::max_element(orbit.begin(), orbit.end()) + 1;
}

}  // namespace phi4flow
