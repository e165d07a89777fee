// Importance weights in log space: log-sum-exp, the effective sample size (paper Eq. 10), reweighted means.
// Flow weights w = exp(-S - log q) overflow a double at any useful lattice size, so nothing here exponentiates
// a raw log weight.
#pragma once

#include <vector>

namespace phi4flow::stats {

/// \brief log(sum_i exp(x_i)) without overflow or underflow; -inf for an empty x (the empty sum is 0).
///
/// An entry of -inf is a zero term; +inf anywhere gives +inf and NaN anywhere gives NaN.
double log_sum_exp(const std::vector<double>& x);

/// \brief Normalised effective sample size (sum w)^2 / (n sum w^2) of the weights w_i = exp(log_weights[i]).
///
/// In (0, 1]: 1 for equal weights, 1/n when one weight dominates. Entries of -inf are zero weights.
/// \throws std::invalid_argument if log_weights is empty, has a NaN or +inf, or every weight is zero
double effective_sample_size(const std::vector<double>& log_weights);

/// \brief The reweighted mean sum_i w_i obs_i / sum_i w_i with w_i = exp(log_weights[i]).
/// \throws std::invalid_argument if the sizes differ, are 0, a log weight is NaN or +inf, or every weight is zero
double reweighted_mean(const std::vector<double>& obs, const std::vector<double>& log_weights);

}  // namespace phi4flow::stats
