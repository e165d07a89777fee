// The binned jackknife for derived quantities (chi2, the pole mass) of one ensemble.
#pragma once

#include <functional>
#include <vector>

namespace phi4flow::stats {

/// A derived quantity and its jackknife error.
struct JackknifeResult {
  double value;  ///< f(means): the jackknife average is not used, its bias is of the same order as f's
  double error;  ///< from the leave-one-bin-out estimates
};

/// \brief Binned jackknife error of f(means of several primary observables).
///
/// The n samples form floor(n / bin_size) bins of consecutive samples; the trailing n mod bin_size samples are
/// left out of both value and error, so that the two describe the same data. Bins should be much longer than
/// the autocorrelation time; bins straddling the junction of two concatenated replicas are harmless then.
/// \param primaries primaries[alpha][i]: observable alpha, replicas concatenated; all of the same length
/// \param f the derived quantity as a function of the vector of means, indexed by alpha
/// \param bin_size samples per bin, >= 1
/// \throws std::invalid_argument for no primaries, unequal lengths, bin_size < 1 or fewer than 2 bins
JackknifeResult jackknife(const std::vector<std::vector<double>>& primaries,
                          const std::function<double(const std::vector<double>&)>& f, int bin_size);

}  // namespace phi4flow::stats
