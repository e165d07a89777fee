// Wolff's Gamma method: errors and integrated autocorrelation times of Monte Carlo averages, primary or derived,
// with the automatic windowing of U. Wolff, Comput. Phys. Commun. 156 (2004) 143.
#pragma once

#include <functional>
#include <vector>

namespace phi4flow::stats {

/// One observable's measurements: replicas[r][i] is measurement i of independent chain r. Chains may differ in
/// length; the mean weights each measurement equally, so a longer chain counts more.
using Replicas = std::vector<std::vector<double>>;

/// What the Gamma method reports for one quantity.
struct GammaResult {
  double value;           ///< the mean over all measurements, or f(means) for a derived quantity
  double error;           ///< standard error of value, with Wolff's bias correction for the window sum
  double error_of_error;  ///< statistical uncertainty of error, sigma sqrt((W + 1/2) / N)
  double tau_int;         ///< integrated autocorrelation time (1/2 for uncorrelated data)
  double tau_int_error;   ///< statistical uncertainty of tau_int
  int window;             ///< the summation window W used
  bool window_found;      ///< false: the criterion was never met up to W_max (or W_max = 0, chains of length 1),
                          ///< so the chains are too short for their autocorrelation and error is a lower bound
};

/// \brief Error of the mean of one observable by the Gamma method with automatic windowing.
///
/// Gamma(t) is summed directly, one lag at a time, and only up to the window, so the cost is O(N W) for N
/// measurements in total. W_max = floor(min_r N_r / 2).
/// Special cases: data without fluctuations (every measurement equal, a single one included) give error 0,
/// tau_int 1/2 and window 0; window_found is true for them unless W_max = 0 (a single measurement: its error is
/// unknowable, and 0 is only a convention).
/// \param data replicas[r][i]; at least one replica, none empty, every value finite
/// \param S Wolff's S (1.5 is his default; pyerrors uses 2.0), > 0
/// \throws std::invalid_argument for no replicas, an empty replica, a non-finite value, or S not > 0
/// \throws std::domain_error when the windowed sum C_F is negative (anticorrelation the window cuts off)
GammaResult gamma_method(const Replicas& data, double S = 1.5);

/// \brief Error of a derived quantity f(means of several primary observables) by the Gamma method.
///
/// The deviations of the primaries are projected with the gradient of f at the means (central differences
/// with a step of cbrt(eps) (|mean| + standard deviation)), and the projected series is windowed as in
/// gamma_method. value is f(means) (no replica bias correction). Primaries without fluctuations contribute
/// nothing and f is not differentiated in their direction.
/// \param primaries primaries[alpha] is observable alpha; all with the same number of replicas and lengths
/// \param f the derived quantity as a function of the vector of means, indexed by alpha
/// \param S Wolff's S, > 0
/// \throws std::invalid_argument for no primaries, mismatched replica lengths, the cases of gamma_method
/// \throws std::domain_error when f or its numerical gradient is not finite at the means, or C_F < 0
GammaResult gamma_method_derived(const std::vector<Replicas>& primaries,
                                 const std::function<double(const std::vector<double>&)>& f, double S = 1.5);

}  // namespace phi4flow::stats
