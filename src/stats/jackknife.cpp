// The binned jackknife for derived quantities.
#include "phi4flow/stats/jackknife.hpp"

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace phi4flow::stats {

JackknifeResult jackknife(const std::vector<std::vector<double>>& primaries,
                          const std::function<double(const std::vector<double>&)>& f, int bin_size) {
  const std::string who = "stats::jackknife";
  if (primaries.empty()) throw std::invalid_argument(who + ": no primary observables");
  if (bin_size < 1) throw std::invalid_argument(who + ": bin_size = " + std::to_string(bin_size) + " must be >= 1");
  const std::size_t n = primaries[0].size();
  for (std::size_t alpha = 1; alpha < primaries.size(); ++alpha) {
    if (primaries[alpha].size() != n) {
      throw std::invalid_argument(who + ": primaries[" + std::to_string(alpha) + "] has " +
                                  std::to_string(primaries[alpha].size()) + " samples, primaries[0] has " +
                                  std::to_string(n));
    }
  }
  const std::size_t bin = static_cast<std::size_t>(bin_size);
  const std::size_t n_bins = n / bin;
  if (n_bins < 2) {
    throw std::invalid_argument(who + ": " + std::to_string(n) + " samples make " + std::to_string(n_bins) +
                                " bins of " + std::to_string(bin_size) + "; the jackknife needs at least 2");
  }
  const std::size_t n_used = n_bins * bin;

  // Leave-one-out means are formed as mean - (bin mean - mean) / (n_bins - 1), from deviations, so that the
  // small differences between them are not lost to rounding of (total - bin sum).
  std::vector<double> means(primaries.size());
  std::vector<std::vector<double>> bin_deviation(primaries.size(), std::vector<double>(n_bins));
  for (std::size_t alpha = 0; alpha < primaries.size(); ++alpha) {
    const std::vector<double>& x = primaries[alpha];
    const double shift = x[0];
    double sum = 0.0;
    for (std::size_t i = 0; i < n_used; ++i) sum += x[i] - shift;
    means[alpha] = shift + sum / static_cast<double>(n_used);
    for (std::size_t b = 0; b < n_bins; ++b) {
      double bin_sum = 0.0;
      for (std::size_t i = b * bin; i < (b + 1) * bin; ++i) bin_sum += x[i] - means[alpha];
      bin_deviation[alpha][b] = bin_sum / static_cast<double>(bin);
    }
  }

  std::vector<double> estimates(n_bins);
  std::vector<double> args(primaries.size());
  for (std::size_t b = 0; b < n_bins; ++b) {
    for (std::size_t alpha = 0; alpha < primaries.size(); ++alpha) {
      args[alpha] = means[alpha] - bin_deviation[alpha][b] / static_cast<double>(n_bins - 1);
    }
    estimates[b] = f(args);
  }
  double average = 0.0;
  for (const double e : estimates) average += e;
  average /= static_cast<double>(n_bins);
  double sum_sq = 0.0;
  for (const double e : estimates) sum_sq += (e - average) * (e - average);

  const double nb = static_cast<double>(n_bins);
  return {f(means), std::sqrt((nb - 1.0) / nb * sum_sq)};
}

}  // namespace phi4flow::stats
