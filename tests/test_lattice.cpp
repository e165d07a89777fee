// Lattice geometry: indexing, symmetries as permutations, D4 orbits of displacements.
#include <gtest/gtest.h>

#include <set>

#include "phi4flow/error.hpp"
#include "phi4flow/lattice/lattice.hpp"

using phi4flow::Lattice;

TEST(Lattice, RejectsTooSmall) {
  EXPECT_THROW(Lattice(1), phi4flow::InputError);
}

TEST(Lattice, IndexCoordsRoundTripAndNeighbours) {
  const Lattice lat(5);
  for (int s = 0; s < lat.volume(); ++s) {
    const auto c = lat.coords(s);
    EXPECT_EQ(lat.index(c.x1, c.x2), s);
    EXPECT_EQ(lat.neighbour(lat.neighbour(s, 0, +1), 0, -1), s);
    EXPECT_EQ(lat.neighbour(lat.neighbour(s, 1, -1), 1, +1), s);
  }
  EXPECT_EQ(lat.neighbour(lat.index(4, 2), 0, +1), lat.index(0, 2));
  EXPECT_EQ(lat.neighbour(lat.index(3, 0), 1, -1), lat.index(3, 4));
}

TEST(Lattice, SymmetriesArePermutationsAndDistinct) {
  for (int L : {3, 4}) {
    const Lattice lat(L);
    const auto group = lat.symmetries();
    ASSERT_EQ(group.size(), 8u * L * L);
    std::set<std::vector<int>> images;
    for (const auto& g : group) {
      std::vector<int> perm(lat.volume());
      std::set<int> hit;
      for (int s = 0; s < lat.volume(); ++s) hit.insert(perm[s] = lat.apply(g, s));
      EXPECT_EQ(hit.size(), static_cast<std::size_t>(lat.volume()));
      images.insert(perm);
    }
    EXPECT_EQ(images.size(), group.size()) << "two group elements act alike for L = " << L;
  }
}

TEST(Lattice, SymmetriesPreserveNeighbourhood) {
  const Lattice lat(6);
  for (const auto& g : lat.symmetries())
    for (int s = 0; s < lat.volume(); ++s) {
      std::multiset<int> mapped, expected;
      for (int mu = 0; mu < 2; ++mu)
        for (int sign : {-1, 1}) {
          mapped.insert(lat.apply(g, lat.neighbour(s, mu, sign)));
          expected.insert(lat.neighbour(lat.apply(g, s), mu, sign));
        }
      ASSERT_EQ(mapped, expected);
    }
}

// Orbits of r mod L under D4: for even L, (L/2+1)(L/2+2)/2; for odd L, with h = (L-1)/2, (h+1)(h+2)/2.
TEST(Lattice, OrbitCounts) {
  const std::vector<std::pair<int, int>> expected = {{4, 6}, {6, 10}, {11, 21}, {12, 28}, {32, 153}, {7, 10}};
  for (const auto& [L, count] : expected) EXPECT_EQ(Lattice(L).orbit_count(), count) << "L = " << L;
}

TEST(Lattice, OrbitMembership) {
  for (int L : {6, 11}) {
    const Lattice lat(L);
    const auto orbit = lat.orbit_of();
    EXPECT_EQ(orbit[lat.index(0, 0)], 0);
    for (int s = 0; s < lat.volume(); ++s) {
      const auto c = lat.coords(s);
      // Same orbit as every D4 image, including -r and the swapped r.
      for (int d = 0; d < 8; ++d) {
        const auto r = lat.point_group(d, c.x1, c.x2);
        EXPECT_EQ(orbit[lat.index(r.x1, r.x2)], orbit[s]);
      }
      // Different orbit from a displacement of different |r|^2 (mod-L distance).
      auto dist2 = [&](int x1, int x2) {
        const int a = std::min(x1, L - x1), b = std::min(x2, L - x2);
        return a * a + b * b;
      };
      for (int t = 0; t < lat.volume(); ++t) {
        const auto e = lat.coords(t);
        if (dist2(c.x1, c.x2) != dist2(e.x1, e.x2)) {
          EXPECT_NE(orbit[s], orbit[t]);
        }
      }
    }
    // (1, 2) and (2, 1) share an orbit; (0, 1) and (1, 1) do not.
    EXPECT_EQ(orbit[lat.index(1, 2)], orbit[lat.index(2, 1)]);
    EXPECT_EQ(orbit[lat.index(1, 2)], orbit[lat.index(L - 1, L - 2)]);
    EXPECT_NE(orbit[lat.index(0, 1)], orbit[lat.index(1, 1)]);
  }
}
