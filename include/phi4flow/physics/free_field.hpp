// Exact results of the free field (lam = 0, m2 > 0), the reference for every sampler's tests:
// covariance (2 (Delta + m2))^{-1}, i.e. G(k) = 1 / (2 (khat^2 + m2)), khat^2 = sum_mu 4 sin^2(k_mu / 2).
#pragma once

#include <vector>

#include "phi4flow/lattice/lattice.hpp"

namespace phi4flow::free_field {

/// \brief G(x) for every displacement x, indexed like sites.
std::vector<double> propagator(const Lattice& lattice, double m2);

/// \brief Gc(t) = (1/L) sum_x1 G(x1, t), t = 0..L-1.
std::vector<double> slice_correlator(const Lattice& lattice, double m2);

/// \brief chi2 = sum_x G(x) = G(k = 0) = 1 / (2 m2).
inline double susceptibility(double m2) {
  return 1.0 / (2.0 * m2);
}

}  // namespace phi4flow::free_field
