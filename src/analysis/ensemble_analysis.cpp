// Ensemble analysis: Gamma method over chains as replicas; correlators from the stored fields by FFT (through the
// flow/fft.hpp adapter). The chain's records and the raw flow proposals go through one estimator, estimate(),
// driven by per-configuration weights: unit weights for the chain, importance weights for the proposals.
#include "phi4flow/analysis/ensemble_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>

#include "phi4flow/error.hpp"
#include "phi4flow/flow/fft.hpp"
#include "phi4flow/io/attributes.hpp"
#include "phi4flow/lattice/lattice.hpp"
#include "phi4flow/physics/observables.hpp"
#include "phi4flow/stats/gamma.hpp"
#include "phi4flow/stats/jackknife.hpp"
#include "phi4flow/stats/weights.hpp"

namespace phi4flow::analysis {

namespace {

using Series = stats::Replicas;
using Means = std::vector<double>;

Estimate from_gamma(const stats::GammaResult& g) {
  return Estimate{g.value, g.error, g.tau_int, g.tau_int_error};
}

/// Records [discard, n) of every chain of a [chain, record] dataset as replicas.
Series replicas_of(const io::HostReals2& data, long discard) {
  Series series(data.extent(0));
  for (std::size_t c = 0; c < data.extent(0); ++c)
    for (std::size_t i = discard; i < data.extent(1); ++i) series[c].push_back(data(c, i));
  return series;
}

/// Component t of records [discard, n) of every chain of a [chain, record, t] dataset as replicas.
Series replicas_of(const io::HostReals3& data, long discard, int t) {
  Series series(data.extent(0));
  for (std::size_t c = 0; c < data.extent(0); ++c)
    for (std::size_t i = discard; i < data.extent(1); ++i) series[c].push_back(data(c, i, t));
  return series;
}

std::vector<double> concatenated(const Series& series) {
  std::vector<double> all;
  for (const auto& chain : series) all.insert(all.end(), chain.begin(), chain.end());
  return all;
}

bool all_finite(const Series& series) {
  for (const auto& chain : series)
    for (double x : chain)
      if (!std::isfinite(x)) return false;
  return true;
}

/// Each element of `series` times the matching weight.
Series weighted(const Series& weights, const Series& series) {
  Series out = series;
  for (std::size_t c = 0; c < out.size(); ++c)
    for (std::size_t i = 0; i < out[c].size(); ++i) out[c][i] *= weights[c][i];
  return out;
}

/// Weights of 1 in the shape of `series`.
Series unit_weights(const Series& series) {
  Series out = series;
  for (auto& chain : out) std::fill(chain.begin(), chain.end(), 1.0);
  return out;
}

/// m_p = (1/(L-1)) sum_{t=1}^{L-1} arccosh((Gc(t-1) + Gc(t+1)) / (2 Gc(t))) from connected Gc; NaN if undefined.
double pole_mass(const std::vector<double>& Gc) {
  const int L = static_cast<int>(Gc.size());
  double sum = 0.0;
  for (int t = 1; t < L; ++t) {
    const double ratio = (Gc[t - 1] + Gc[(t + 1) % L]) / (2.0 * Gc[t]);
    if (!(ratio >= 1.0)) return std::numeric_limits<double>::quiet_NaN();
    sum += std::acosh(ratio);
  }
  return sum / (L - 1);
}

/// Jackknife bin size from the integrated autocorrelation time: bins several tau_int long.
int bin_size_for(double tau_int, long n) {
  const int bins = static_cast<int>(std::ceil(4.0 * tau_int));
  return std::max(1, std::min<int>(bins, static_cast<int>(n / 20 > 0 ? n / 20 : 1)));
}

/// Per-configuration C(x) = (1/N) sum_y phi(y) phi(y+x), averaged over each D4 orbit of x, by FFT: the
/// unnormalised inverse of |phi(k)|^2 is N sum_y phi(y) phi(y+x). The records of a chain go in batches.
std::vector<Series> orbit_correlators(const io::Ensemble& ens, long discard, const std::vector<int>& orbit_of,
                                      int n_orbits) {
  const int L = ens.L, n = L * L;
  const int batch = static_cast<int>(std::min<std::int64_t>(ens.n_records - discard, 64));
  const flow::HostRealFft2d fft(L, batch);
  const auto& field = fft.real();
  const auto& spectrum = fft.spectrum();
  const int n_modes = flow::half_spectrum_size(L);
  std::vector<int> orbit_size(n_orbits, 0);
  for (int s = 0; s < n; ++s) ++orbit_size[orbit_of[s]];
  std::vector<Series> result(n_orbits, Series(ens.n_chains));
  std::vector<double> orbit_sum(n_orbits);
  for (int c = 0; c < ens.n_chains; ++c)
    for (std::int64_t first = discard; first < ens.n_records; first += batch) {
      const int count = static_cast<int>(std::min<std::int64_t>(batch, ens.n_records - first));
      for (int b = 0; b < count; ++b)
        for (int s = 0; s < n; ++s) field(b, s) = ens.phi(c, first + b, s);
      fft.forward();
      for (int b = 0; b < batch; ++b)
        for (int k = 0; k < n_modes; ++k) {
          const double re = spectrum(b, k).real(), im = spectrum(b, k).imag();
          spectrum(b, k) = flow::Complex(re * re + im * im, 0.0);
        }
      fft.inverse();
      for (int b = 0; b < count; ++b) {
        std::fill(orbit_sum.begin(), orbit_sum.end(), 0.0);
        for (int s = 0; s < n; ++s) orbit_sum[orbit_of[s]] += field(b, s) / (static_cast<double>(n) * n);
        for (int o = 0; o < n_orbits; ++o) result[o][c].push_back(orbit_sum[o] / orbit_size[o]);
      }
    }
  return result;
}

/// The per-configuration series one set of Estimates is computed from, as replicas after discarding.
struct Sample {
  std::vector<std::pair<std::string, Series>> observables;  ///< scalars whose means are reported by name
  Series M, M2;
  std::vector<Series> gc;       ///< gc[t]: component t of the slice correlator, t = 0..L-1
  std::vector<Series> C_orbit;  ///< C(x) averaged over each D4 orbit; empty without stored fields
};

/// <O> = mean(W O) / mean(W) from the primaries W, W O.
Estimate weighted_mean(const Series& W, const Series& O) {
  return from_gamma(stats::gamma_method_derived({W, weighted(W, O)}, [](const Means& a) { return a[1] / a[0]; }));
}

/// Every estimate of `sample` as ratio estimators sum_i w_i O_i / sum_i w_i with the weights W: one per
/// configuration, >= 0 and not all 0, in the shape of the sample's series. The primaries of the Gamma method (and
/// of the jackknife) are W and W O; every derived quantity divides by the mean weight, so that the errors of
/// numerator and denominator propagate together. With unit weights this is the plain analysis, to the last bit:
/// mean(W) is exactly 1, and a primary without fluctuations contributes nothing to an error. `what` names the
/// sample in warnings: "" for the chain, " (reweighted)" for the proposals.
Estimates estimate(const Sample& sample, const Series& W, int L, const std::string& what,
                   std::vector<std::string>& warnings) {
  Estimates out;
  for (const auto& [name, O] : sample.observables) out.observables.emplace_back(name, weighted_mean(W, O));

  const double volume = static_cast<double>(L) * L;
  long total = 0;  // measurements over all chains
  for (const auto& chain : W) total += static_cast<long>(chain.size());
  const Series WM = weighted(W, sample.M);
  const Series WM2 = weighted(W, sample.M2);
  const auto chi2_of = [volume](const Means& a) {
    const double m = a[1] / a[0];
    return volume * (a[2] / a[0] - m * m);
  };
  out.chi2 = from_gamma(stats::gamma_method_derived({W, WM, WM2}, chi2_of));
  out.chi2_jackknife_error = stats::jackknife({concatenated(W), concatenated(WM), concatenated(WM2)}, chi2_of,
                                              bin_size_for(out.chi2.tau_int, total))
                                 .error;

  // <X> - <M>^2 from the primaries W, W M, W X.
  const auto connected = [](const Means& a) {
    const double m = a[1] / a[0];
    return a[2] / a[0] - m * m;
  };
  // Primaries W, W M, W gc(0..L-1): Gc(t) = <gc(t)> - <M>^2.
  std::vector<Series> primaries = {W, WM};
  for (int t = 0; t < L; ++t) primaries.push_back(weighted(W, sample.gc.at(t)));
  for (int t = 0; t < L; ++t)
    out.Gc.push_back(from_gamma(stats::gamma_method_derived({W, WM, primaries[2 + t]}, connected)));

  // The pole mass: where noise makes a slice ratio fall below 1 it is undefined, and the estimate is then NaN
  // (null in JSON) with a warning, not a failed analysis.
  const auto mass_of = [L](const Means& a) {
    const double m = a[1] / a[0];
    std::vector<double> Gc(L);
    for (int t = 0; t < L; ++t) Gc[t] = a[2 + t] / a[0] - m * m;
    return pole_mass(Gc);
  };
  try {
    out.pole_mass = from_gamma(stats::gamma_method_derived(primaries, mass_of));
    std::vector<std::vector<double>> flat;
    for (const auto& p : primaries) flat.push_back(concatenated(p));
    out.pole_mass_jackknife_error = stats::jackknife(flat, mass_of, bin_size_for(out.pole_mass.tau_int, total)).error;
  } catch (const std::domain_error& e) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    out.pole_mass = Estimate{nan, nan, nan, nan};
    out.pole_mass_jackknife_error = nan;
    warnings.push_back("m_p" + what + " undefined (a slice ratio of Gc is below 1 at the means): " + e.what());
  }

  for (const Series& C : sample.C_orbit)
    out.G_orbit.push_back(from_gamma(stats::gamma_method_derived({W, WM, weighted(W, C)}, connected)));
  return out;
}

/// The plain analysis of a sample: estimate() with unit weights.
Estimates estimate(const Sample& sample, int L, std::vector<std::string>& warnings) {
  return estimate(sample, unit_weights(sample.M), L, "", warnings);
}

/// The raw flow proposals of a flow-mh ensemble, reweighted with w = exp(log_w - max log_w) (normalised by the
/// largest weight, so that nothing overflows).
std::optional<ProposalReweighting> reweight_proposals(const io::Ensemble& ens, long discard,
                                                      std::vector<std::string>& warnings) {
  const Series log_w = replicas_of(ens.scalars.at("proposal_log_w"), discard);
  if (!all_finite(log_w)) {
    warnings.push_back("proposal_log_w has non-finite values: proposals not reweighted");
    return std::nullopt;
  }
  ProposalReweighting out;
  const std::vector<double> all_log_w = concatenated(log_w);
  out.n = static_cast<long>(all_log_w.size());
  out.ess = stats::effective_sample_size(all_log_w);
  const double max_log_w = *std::max_element(all_log_w.begin(), all_log_w.end());
  Series W = log_w;
  for (auto& chain : W)
    for (double& x : chain) x = std::exp(x - max_log_w);

  Sample proposals;
  for (const auto& name : field_observable_names())
    proposals.observables.emplace_back(name, replicas_of(ens.scalars.at("proposal_" + name), discard));
  proposals.M = replicas_of(ens.scalars.at("proposal_M"), discard);
  proposals.M2 = replicas_of(ens.scalars.at("proposal_M2"), discard);
  const io::HostReals3& gc = ens.vectors.at("proposal_Gc");
  for (int t = 0; t < ens.L; ++t) proposals.gc.push_back(replicas_of(gc, discard, t));
  out.reweighted = estimate(proposals, W, ens.L, " (reweighted)", warnings);
  return out;
}

}  // namespace

EnsembleAnalysis analyze(const io::Ensemble& ens, long discard) {
  if (discard < 0 || discard + 2 > ens.n_records) {
    throw InputError("--discard " + std::to_string(discard) + " leaves fewer than 2 of the " +
                     std::to_string(ens.n_records) + " records per chain: discard fewer");
  }
  EnsembleAnalysis out;
  out.L = ens.L;
  out.n_chains = ens.n_chains;
  out.n_records = ens.n_records - discard;
  out.discarded = discard;
  out.record_spacing = static_cast<long>(ens.step(0, 1) - ens.step(0, 0));
  out.algorithm = io::attr_string(ens.algorithm, "name", "/algorithm");
  out.m2 = io::attr_real(ens.action, "m2", "/action");
  out.lam = io::attr_real(ens.action, "lam", "/action");

  Sample chain;
  std::optional<Series> accepted;
  for (const auto& [name, data] : ens.scalars) {
    // The raw proposals are samples of q, not of p: only their reweighted averages mean something.
    if (name.rfind("proposal_", 0) == 0) continue;
    Series series = replicas_of(data, discard);
    if (name == "dH") {
      // Creutz's equality <exp(-dH)> = 1 checks the HMC integrator; a diverged trajectory has dH = inf or nan.
      for (auto& c : series)
        for (double& x : c) x = std::exp(-x);
    }
    if (!all_finite(series)) {
      out.warnings.push_back(name + " has non-finite values (diverged trajectories?): not analysed");
      continue;
    }
    if (name == "accepted") {
      accepted = std::move(series);
    } else {
      chain.observables.emplace_back(name == "dH" ? "exp(-dH)" : name, std::move(series));
    }
  }
  chain.M = replicas_of(ens.scalars.at("M"), discard);
  chain.M2 = replicas_of(ens.scalars.at("M2"), discard);
  for (int t = 0; t < ens.L; ++t) chain.gc.push_back(replicas_of(ens.gc, discard, t));
  if (ens.has_fields) {
    const Lattice lattice(ens.L);
    out.G_orbit_of = lattice.orbit_of();
    chain.C_orbit = orbit_correlators(ens, discard, out.G_orbit_of, lattice.orbit_count());
  }

  if (accepted) out.acceptance = weighted_mean(unit_weights(*accepted), *accepted);
  out.chain = estimate(chain, ens.L, out.warnings);
  if (ens.scalars.count("proposal_log_w") && ens.vectors.count("proposal_Gc"))
    out.proposals = reweight_proposals(ens, discard, out.warnings);
  return out;
}

}  // namespace phi4flow::analysis
