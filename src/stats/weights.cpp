// Importance weights in log space: every sum is taken relative to the largest log weight.
#include "phi4flow/stats/weights.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

namespace phi4flow::stats {
namespace {

// The largest log weight, after checking that the weights are usable: a NaN or +inf log weight comes from a
// broken action or flow density, and normalising by it would silently hide that.
double max_log_weight(const std::string& who, const std::vector<double>& log_weights) {
  if (log_weights.empty()) throw std::invalid_argument(who + ": no weights");
  double m = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < log_weights.size(); ++i) {
    const double lw = log_weights[i];
    if (std::isnan(lw) || lw == std::numeric_limits<double>::infinity()) {
      throw std::invalid_argument(who + ": log weight " + std::to_string(i) + " is " + std::to_string(lw));
    }
    m = std::max(m, lw);
  }
  if (m == -std::numeric_limits<double>::infinity()) throw std::invalid_argument(who + ": every weight is zero");
  return m;
}

}  // namespace

double log_sum_exp(const std::vector<double>& x) {
  double m = -std::numeric_limits<double>::infinity();
  for (const double v : x) {
    if (std::isnan(v)) return v;
    m = std::max(m, v);
  }
  if (!std::isfinite(m)) return m;  // empty or all -inf: log 0; any +inf: +inf
  double sum = 0.0;
  for (const double v : x) sum += std::exp(v - m);
  return m + std::log(sum);
}

double effective_sample_size(const std::vector<double>& log_weights) {
  const double m = max_log_weight("stats::effective_sample_size", log_weights);
  // Shifting by the maximum leaves the ratio unchanged and keeps 2 (log w - m) <= 0, so nothing overflows.
  std::vector<double> shifted(log_weights.size());
  std::vector<double> doubled(log_weights.size());
  for (std::size_t i = 0; i < log_weights.size(); ++i) {
    shifted[i] = log_weights[i] - m;
    doubled[i] = 2.0 * shifted[i];
  }
  const double log_n = std::log(static_cast<double>(log_weights.size()));
  const double ess = std::exp(2.0 * log_sum_exp(shifted) - log_sum_exp(doubled) - log_n);
  return std::min(1.0, ess);  // equal weights give 1 up to rounding; never report more
}

double reweighted_mean(const std::vector<double>& obs, const std::vector<double>& log_weights) {
  const std::string who = "stats::reweighted_mean";
  if (obs.size() != log_weights.size()) {
    throw std::invalid_argument(who + ": " + std::to_string(obs.size()) + " observations but " +
                                std::to_string(log_weights.size()) + " log weights");
  }
  const double m = max_log_weight(who, log_weights);
  double sum_w = 0.0;
  double sum_wo = 0.0;
  for (std::size_t i = 0; i < obs.size(); ++i) {
    const double w = std::exp(log_weights[i] - m);
    sum_w += w;
    sum_wo += w * obs[i];
  }
  return sum_wo / sum_w;
}

}  // namespace phi4flow::stats
