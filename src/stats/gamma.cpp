// Wolff's Gamma method: validation, deviations and the automatic windowing shared by primary and derived
// quantities.
#include "phi4flow/stats/gamma.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

namespace phi4flow::stats {
namespace {

void check_S(const char* who, double S) {
  if (!(S > 0.0) || !std::isfinite(S)) {
    throw std::invalid_argument(std::string(who) + ": S = " + std::to_string(S) +
                                " must be a finite positive number (Wolff's default is 1.5)");
  }
}

std::vector<std::size_t> replica_lengths(const std::string& what, const Replicas& data) {
  if (data.empty()) throw std::invalid_argument(what + " has no replicas");
  std::vector<std::size_t> lengths;
  lengths.reserve(data.size());
  for (std::size_t r = 0; r < data.size(); ++r) {
    if (data[r].empty()) throw std::invalid_argument(what + ": replica " + std::to_string(r) + " is empty");
    for (std::size_t i = 0; i < data[r].size(); ++i) {
      if (!std::isfinite(data[r][i])) {
        throw std::invalid_argument(what + ": replica " + std::to_string(r) + ", measurement " + std::to_string(i) +
                                    " is not finite");
      }
    }
    lengths.push_back(data[r].size());
  }
  return lengths;
}

// Shifting by the first measurement makes the mean of constant data exact. Otherwise the deviations of such
// data would be a constant rounding offset instead of zero: perfectly correlated noise that no window ends.
double mean_of(const Replicas& data) {
  const double shift = data[0][0];
  double sum = 0.0;
  std::size_t n = 0;
  for (const auto& replica : data) {
    for (const double x : replica) sum += x - shift;
    n += replica.size();
  }
  return shift + sum / static_cast<double>(n);
}

// Gamma(t) of deviations stored replica after replica; lag pairs never span two replicas, which are independent.
double autocovariance(const std::vector<double>& d, const std::vector<std::size_t>& lengths, std::size_t t) {
  double sum = 0.0;
  const double* replica = d.data();
  for (const std::size_t n_r : lengths) {
    for (std::size_t i = 0; i + t < n_r; ++i) sum += replica[i] * replica[i + t];
    replica += n_r;
  }
  return sum / static_cast<double>(d.size() - lengths.size() * t);
}

// Wolff's g(W) < 0: the window where the truncation bias, ~exp(-W/tau) with tau the decay time of Gamma
// (estimated as S tau_int(W)), stops outweighing the growth of the statistical error, ~sqrt(W/N).
bool window_ends(double tau_int_W, double W, double n, double S) {
  if (tau_int_W <= 0.5) return true;  // no autocorrelation left to sum: tau(W) -> 0 and g(W) < 0
  // log1p keeps ln((2 tau_int + 1)/(2 tau_int - 1)) accurate for large tau_int.
  const double tau = S / std::log1p(2.0 / (2.0 * tau_int_W - 1.0));
  return std::exp(-W / tau) - tau / std::sqrt(W * n) < 0.0;
}

GammaResult windowed(const char* who, double value, const std::vector<double>& d,
                     const std::vector<std::size_t>& lengths, double S) {
  std::size_t min_length = lengths[0];
  for (const std::size_t n_r : lengths) min_length = std::min(min_length, n_r);
  const std::size_t w_max = min_length / 2;
  const double n = static_cast<double>(d.size());

  const double gamma0 = autocovariance(d, lengths, 0);
  if (gamma0 == 0.0) return {value, 0.0, 0.0, 0.5, 0.0, 0, w_max > 0};

  // Gamma(t) is computed one lag at a time and only until the window ends: O(N W), not O(N W_max).
  double gamma_sum = 0.0;
  std::size_t window = w_max;
  bool found = false;
  for (std::size_t w = 1; w <= w_max; ++w) {
    gamma_sum += autocovariance(d, lengths, w);
    if (window_ends(0.5 + gamma_sum / gamma0, static_cast<double>(w), n, S)) {
      window = w;
      found = true;
      break;
    }
  }

  const double c_f = gamma0 + 2.0 * gamma_sum;
  if (c_f < 0.0) {
    throw std::domain_error(std::string(who) + ": the windowed variance C_F = " + std::to_string(c_f) +
                            " is negative at W = " + std::to_string(window) +
                            "; the series is anticorrelated in a way the window cuts off");
  }
  // Wolff's bias correction: subtracting the sample mean lowers every Gamma(t) by about C_F/N. Correcting
  // Gamma(0) as well keeps tau_int the ratio of two corrected quantities, as in Wolff's UWerr.
  const double w = static_cast<double>(window);
  const double c_f_corrected = c_f * (1.0 + (2.0 * w + 1.0) / n);
  const double gamma0_corrected = gamma0 + c_f / n;

  GammaResult result;
  result.value = value;
  result.error = std::sqrt(c_f_corrected / n);
  result.error_of_error = result.error * std::sqrt((w + 0.5) / n);
  result.tau_int = c_f_corrected / (2.0 * gamma0_corrected);
  result.tau_int_error = 2.0 * result.tau_int * std::sqrt(std::max(0.0, w + 0.5 - result.tau_int) / n);
  result.window = static_cast<int>(window);
  result.window_found = found;
  return result;
}

}  // namespace

GammaResult gamma_method(const Replicas& data, double S) {
  constexpr const char* who = "stats::gamma_method";
  check_S(who, S);
  const auto lengths = replica_lengths(std::string(who) + ": data", data);
  const double mean = mean_of(data);
  std::vector<double> d;
  d.reserve(data.size() * lengths[0]);
  for (const auto& replica : data) {
    for (const double x : replica) d.push_back(x - mean);
  }
  return windowed(who, mean, d, lengths, S);
}

GammaResult gamma_method_derived(const std::vector<Replicas>& primaries,
                                 const std::function<double(const std::vector<double>&)>& f, double S) {
  constexpr const char* who = "stats::gamma_method_derived";
  check_S(who, S);
  if (primaries.empty()) throw std::invalid_argument(std::string(who) + ": no primary observables");
  const auto lengths = replica_lengths(std::string(who) + ": primaries[0]", primaries[0]);
  for (std::size_t alpha = 1; alpha < primaries.size(); ++alpha) {
    const std::string name = std::string(who) + ": primaries[" + std::to_string(alpha) + "]";
    if (replica_lengths(name, primaries[alpha]) != lengths) {
      throw std::invalid_argument(name + " has other replica lengths than primaries[0]");
    }
  }

  std::vector<double> means;
  means.reserve(primaries.size());
  for (const auto& primary : primaries) means.push_back(mean_of(primary));
  const double value = f(means);
  if (!std::isfinite(value)) throw std::domain_error(std::string(who) + ": f is not finite at the means");

  std::size_t n = 0;
  for (const std::size_t n_r : lengths) n += n_r;
  std::vector<double> projected(n, 0.0);
  // A central difference has truncation error ~h^2 and rounding error ~eps/h: cbrt(eps) balances the two.
  const double relative_step = std::cbrt(std::numeric_limits<double>::epsilon());
  std::vector<double> args = means;
  for (std::size_t alpha = 0; alpha < primaries.size(); ++alpha) {
    const double mean = means[alpha];
    double sum_sq = 0.0;
    for (const auto& replica : primaries[alpha]) {
      for (const double x : replica) sum_sq += (x - mean) * (x - mean);
    }
    if (sum_sq == 0.0) continue;  // no deviations to project, so f need not be differentiable in this direction
    const double h = relative_step * (std::abs(mean) + std::sqrt(sum_sq / static_cast<double>(n)));
    const double up = mean + h;
    const double down = mean - h;
    args[alpha] = up;
    const double f_up = f(args);
    args[alpha] = down;
    const double f_down = f(args);
    args[alpha] = mean;
    // Dividing by the difference of the rounded arguments, not by 2h, removes the rounding of mean +- h.
    const double gradient = (f_up - f_down) / (up - down);
    if (!std::isfinite(gradient)) {
      throw std::domain_error(std::string(who) + ": the derivative of f with respect to primary " +
                              std::to_string(alpha) + " is not finite at the means");
    }
    std::size_t i = 0;
    for (const auto& replica : primaries[alpha]) {
      for (const double x : replica) projected[i++] += gradient * (x - mean);
    }
  }
  return windowed(who, value, projected, lengths, S);
}

}  // namespace phi4flow::stats
