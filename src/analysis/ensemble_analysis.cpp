// Ensemble analysis: Gamma method over chains as replicas; correlators from the stored fields by FFT.
#include "phi4flow/analysis/ensemble_analysis.hpp"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>

#include "phi4flow/error.hpp"
#include "phi4flow/io/attributes.hpp"
#include "phi4flow/lattice/lattice.hpp"
#include "phi4flow/physics/observables.hpp"
#include "phi4flow/stats/gamma.hpp"
#include "phi4flow/stats/jackknife.hpp"
#include "phi4flow/stats/weights.hpp"

namespace phi4flow::analysis {

namespace {

using Series = stats::Replicas;

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

std::vector<double> concatenated(const Series& series) {
  std::vector<double> all;
  for (const auto& chain : series) all.insert(all.end(), chain.begin(), chain.end());
  return all;
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

/// Per-configuration C(x) = (1/N) sum_y phi(y) phi(y+x), averaged over each D4 orbit of x, by FFT.
std::vector<Series> orbit_correlators(const io::Ensemble& ens, long discard, const std::vector<int>& orbit_of,
                                      int n_orbits) {
  const int L = ens.L, n = L * L, nk = L * (L / 2 + 1);
  std::vector<double> field(n), corr(n);
  std::vector<std::complex<double>> spectrum(nk);
  fftw_plan forward =
      fftw_plan_dft_r2c_2d(L, L, field.data(), reinterpret_cast<fftw_complex*>(spectrum.data()), FFTW_ESTIMATE);
  fftw_plan backward =
      fftw_plan_dft_c2r_2d(L, L, reinterpret_cast<fftw_complex*>(spectrum.data()), corr.data(), FFTW_ESTIMATE);
  std::vector<int> orbit_size(n_orbits, 0);
  for (int s = 0; s < n; ++s) ++orbit_size[orbit_of[s]];
  std::vector<Series> result(n_orbits, Series(ens.n_chains));
  for (int c = 0; c < ens.n_chains; ++c)
    for (long i = discard; i < ens.n_records; ++i) {
      for (int s = 0; s < n; ++s) field[s] = ens.phi(c, i, s);
      fftw_execute(forward);
      for (auto& z : spectrum) z = std::norm(z);
      fftw_execute(backward);  // unnormalised: sum_k |phi(k)|^2 e^{ikx} = N sum_y phi(y) phi(y+x)
      std::vector<double> orbit_sum(n_orbits, 0.0);
      for (int s = 0; s < n; ++s) orbit_sum[orbit_of[s]] += corr[s] / (static_cast<double>(n) * n);
      for (int o = 0; o < n_orbits; ++o) result[o][c].push_back(orbit_sum[o] / orbit_size[o]);
    }
  fftw_destroy_plan(forward);
  fftw_destroy_plan(backward);
  return result;
}

/// The pole mass from the primaries with Gamma-method and jackknife errors. Where noise makes a slice ratio fall
/// below 1 the mass is undefined: the estimate is then NaN (null in JSON) with a warning, not a failed analysis.
void pole_mass_estimate(const std::vector<Series>& primaries,
                        const std::function<double(const std::vector<double>&)>& f, long total, const std::string& what,
                        EnsembleAnalysis& out, Estimate& estimate, double& jackknife_error) {
  try {
    estimate = from_gamma(stats::gamma_method_derived(primaries, f));
    std::vector<std::vector<double>> flat;
    for (const auto& p : primaries) flat.push_back(concatenated(p));
    jackknife_error = stats::jackknife(flat, f, bin_size_for(estimate.tau_int, total)).error;
  } catch (const std::domain_error& e) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    estimate = Estimate{nan, nan, nan, nan};
    jackknife_error = nan;
    out.warnings.push_back(what + " undefined (a slice ratio of Gc is below 1 at the means): " + e.what());
  }
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

/// Ratio estimators sum w O / sum w from the raw flow proposals of a flow-mh ensemble. The primaries are w and
/// w O per proposal (w normalised by the largest weight, so nothing overflows); every derived quantity divides
/// by the mean weight, and the Gamma method propagates the errors of numerator and denominator together.
void reweight_proposals(const io::Ensemble& ens, long discard, EnsembleAnalysis& out) {
  const Series log_w = replicas_of(ens.scalars.at("proposal_log_w"), discard);
  if (!all_finite(log_w)) {
    out.warnings.push_back("proposal_log_w has non-finite values: proposals not reweighted");
    return;
  }
  const std::vector<double> all_log_w = concatenated(log_w);
  out.has_proposals = true;
  out.n_proposals = static_cast<long>(all_log_w.size());
  out.proposal_ess = stats::effective_sample_size(all_log_w);
  const double max_log_w = *std::max_element(all_log_w.begin(), all_log_w.end());
  Series W = log_w;
  for (auto& chain : W)
    for (double& x : chain) x = std::exp(x - max_log_w);

  const auto ratio = [](const std::vector<double>& a) { return a[1] / a[0]; };
  for (const auto& name : field_observable_names()) {
    const Series O = replicas_of(ens.scalars.at("proposal_" + name), discard);
    out.reweighted.emplace_back(name, from_gamma(stats::gamma_method_derived({W, weighted(W, O)}, ratio)));
  }
  const int L = ens.L;
  const double volume = static_cast<double>(L) * L;
  const Series WM = weighted(W, replicas_of(ens.scalars.at("proposal_M"), discard));
  const Series WM2 = weighted(W, replicas_of(ens.scalars.at("proposal_M2"), discard));
  const auto chi2_of = [volume](const std::vector<double>& a) {
    const double m = a[1] / a[0];
    return volume * (a[2] / a[0] - m * m);
  };
  out.reweighted_chi2 = from_gamma(stats::gamma_method_derived({W, WM, WM2}, chi2_of));
  const long total = out.n_proposals;
  out.reweighted_chi2_jackknife_error = stats::jackknife({concatenated(W), concatenated(WM), concatenated(WM2)},
                                                         chi2_of, bin_size_for(out.reweighted_chi2.tau_int, total))
                                            .error;

  // Primaries W, W M, W gc(0..L-1): Gc(t) = <gc(t)> - <M>^2 with reweighted means.
  const io::HostReals3& gc = ens.vectors.at("proposal_Gc");
  std::vector<Series> primaries = {W, WM};
  for (int t = 0; t < L; ++t) {
    Series wgc(ens.n_chains);
    for (int c = 0; c < ens.n_chains; ++c)
      for (long i = discard; i < ens.n_records; ++i) wgc[c].push_back(W[c][i - discard] * gc(c, i, t));
    primaries.push_back(std::move(wgc));
  }
  const auto connected = [](const std::vector<double>& a, int t) {
    const double m = a[1] / a[0];
    return a[2 + t] / a[0] - m * m;
  };
  for (int t = 0; t < L; ++t) {
    out.reweighted_Gc.push_back(
        from_gamma(stats::gamma_method_derived({primaries[0], primaries[1], primaries[2 + t]},
                                               [&](const std::vector<double>& a) { return connected(a, 0); })));
  }
  const auto mass_of = [&](const std::vector<double>& a) {
    std::vector<double> Gc(L);
    for (int t = 0; t < L; ++t) Gc[t] = connected(a, t);
    return pole_mass(Gc);
  };
  pole_mass_estimate(primaries, mass_of, total, "m_p (reweighted)", out, out.reweighted_pole_mass,
                     out.reweighted_pole_mass_jackknife_error);
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
  const int L = ens.L;
  const double volume = static_cast<double>(L) * L;

  for (const auto& [name, data] : ens.scalars) {
    // The raw proposals are samples of q, not of p: only their reweighted averages mean something.
    if (name.rfind("proposal_", 0) == 0) continue;
    Series series = replicas_of(data, discard);
    if (name == "dH") {
      // Creutz's equality <exp(-dH)> = 1 checks the HMC integrator; a diverged trajectory has dH = inf or nan.
      for (auto& chain : series)
        for (double& x : chain) x = std::exp(-x);
    }
    bool finite = true;
    for (const auto& chain : series)
      for (double x : chain) finite = finite && std::isfinite(x);
    if (!finite) {
      out.warnings.push_back(name + " has non-finite values (diverged trajectories?): not analysed");
      continue;
    }
    if (name == "dH") {
      out.observables.emplace_back("exp(-dH)", from_gamma(stats::gamma_method(series)));
    } else if (name == "accepted") {
      out.has_acceptance = true;
      out.acceptance = from_gamma(stats::gamma_method(series));
    } else {
      out.observables.emplace_back(name, from_gamma(stats::gamma_method(series)));
    }
  }

  const Series M = replicas_of(ens.scalars.at("M"), discard);
  const Series M2 = replicas_of(ens.scalars.at("M2"), discard);
  const auto chi2_of = [volume](const std::vector<double>& a) { return volume * (a[1] - a[0] * a[0]); };
  out.chi2 = from_gamma(stats::gamma_method_derived({M, M2}, chi2_of));
  const long total = out.n_records * ens.n_chains;
  out.chi2_jackknife_error =
      stats::jackknife({concatenated(M), concatenated(M2)}, chi2_of, bin_size_for(out.chi2.tau_int, total)).error;

  // Gc(t) = <gc(t)> - <M>^2; primaries: M, gc(0..L-1).
  std::vector<Series> primaries = {M};
  for (int t = 0; t < L; ++t) {
    Series gc(ens.n_chains);
    for (int c = 0; c < ens.n_chains; ++c)
      for (long i = discard; i < ens.n_records; ++i) gc[c].push_back(ens.gc(c, i, t));
    primaries.push_back(std::move(gc));
  }
  const auto connected_slices = [L](const std::vector<double>& a) {
    std::vector<double> Gc(L);
    for (int t = 0; t < L; ++t) Gc[t] = a[1 + t] - a[0] * a[0];
    return Gc;
  };
  for (int t = 0; t < L; ++t) {
    out.Gc.push_back(from_gamma(stats::gamma_method_derived(
        {primaries[0], primaries[1 + t]}, [](const std::vector<double>& a) { return a[1] - a[0] * a[0]; })));
  }
  const auto mass_of = [&](const std::vector<double>& a) { return pole_mass(connected_slices(a)); };
  pole_mass_estimate(primaries, mass_of, total, "m_p", out, out.pole_mass, out.pole_mass_jackknife_error);

  if (ens.has_fields) {
    const Lattice lattice(L);
    out.G_orbit_of = lattice.orbit_of();
    const int n_orbits = lattice.orbit_count();
    const std::vector<Series> C = orbit_correlators(ens, discard, out.G_orbit_of, n_orbits);
    for (int o = 0; o < n_orbits; ++o) {
      out.G_orbit.push_back(from_gamma(
          stats::gamma_method_derived({M, C[o]}, [](const std::vector<double>& a) { return a[1] - a[0] * a[0]; })));
    }
  }
  if (ens.scalars.count("proposal_log_w") && ens.vectors.count("proposal_Gc")) reweight_proposals(ens, discard, out);
  return out;
}

std::string format_table(const EnsembleAnalysis& r) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%s ensemble: L = %d, m2 = %g, lam = %g, %d chains x %ld records (%ld discarded)\n",
                r.algorithm.c_str(), r.L, r.m2, r.lam, r.n_chains, r.n_records, r.discarded);
  out << line;
  std::snprintf(line, sizeof line, "%-14s %14s %12s %10s   (tau_int in records, %ld MC steps apart)\n", "quantity",
                "value", "error", "tau_int", r.record_spacing);
  out << line;
  const auto row = [&](const std::string& name, const Estimate& e) {
    std::snprintf(line, sizeof line, "%-14s %14.6g %12.3g %10.2f\n", name.c_str(), e.value, e.error, e.tau_int);
    out << line;
  };
  if (r.has_acceptance) row("acceptance", r.acceptance);
  for (const auto& [name, e] : r.observables) row(name, e);
  row("chi2", r.chi2);
  row("m_p", r.pole_mass);
  row("m_p L", Estimate{r.pole_mass.value * r.L, r.pole_mass.error * r.L, r.pole_mass.tau_int, 0.0});
  std::snprintf(line, sizeof line, "jackknife errors: chi2 %.3g, m_p L %.3g\n", r.chi2_jackknife_error,
                r.pole_mass_jackknife_error * r.L);
  out << line;
  if (r.has_proposals) {
    std::snprintf(line, sizeof line,
                  "proposals: %ld, ESS %.4f (math.md Eq. 10); reweighted from them (sum w O / sum w):\n", r.n_proposals,
                  r.proposal_ess);
    out << line;
    for (const auto& [name, e] : r.reweighted) row(name, e);
    row("chi2", r.reweighted_chi2);
    row("m_p", r.reweighted_pole_mass);
    row("m_p L", Estimate{r.reweighted_pole_mass.value * r.L, r.reweighted_pole_mass.error * r.L,
                          r.reweighted_pole_mass.tau_int, 0.0});
    std::snprintf(line, sizeof line, "jackknife errors (reweighted): chi2 %.3g, m_p L %.3g\n",
                  r.reweighted_chi2_jackknife_error, r.reweighted_pole_mass_jackknife_error * r.L);
    out << line;
  }
  for (const auto& warning : r.warnings) out << "warning: " << warning << "\n";
  return out.str();
}

namespace {

const std::string reweighted_suffix = " (reweighted)";

/// Every estimate of an analysis by name; m_p as m_p L, reweighted ones with reweighted_suffix.
std::vector<std::pair<std::string, Estimate>> named_estimates(const EnsembleAnalysis& r) {
  const auto times_L = [&](const Estimate& e) {
    return Estimate{e.value * r.L, e.error * r.L, e.tau_int, e.tau_int_error};
  };
  std::vector<std::pair<std::string, Estimate>> rows;
  if (r.has_acceptance) rows.emplace_back("acceptance", r.acceptance);
  for (const auto& row : r.observables) rows.push_back(row);
  rows.emplace_back("chi2", r.chi2);
  rows.emplace_back("m_p L", times_L(r.pole_mass));
  for (std::size_t t = 0; t < r.Gc.size(); ++t) rows.emplace_back("Gc(" + std::to_string(t) + ")", r.Gc[t]);
  if (r.has_proposals) {
    for (const auto& [name, e] : r.reweighted) rows.emplace_back(name + reweighted_suffix, e);
    rows.emplace_back("chi2" + reweighted_suffix, r.reweighted_chi2);
    rows.emplace_back("m_p L" + reweighted_suffix, times_L(r.reweighted_pole_mass));
    for (std::size_t t = 0; t < r.reweighted_Gc.size(); ++t)
      rows.emplace_back("Gc(" + std::to_string(t) + ")" + reweighted_suffix, r.reweighted_Gc[t]);
  }
  return rows;
}

std::string base_name(const std::string& name) {
  const auto at = name.find(reweighted_suffix);
  return at == std::string::npos ? name : name.substr(0, at);
}

}  // namespace

std::string format_comparison(const EnsembleAnalysis& a, const std::string& a_name, const EnsembleAnalysis& b,
                              const std::string& b_name) {
  std::ostringstream out;
  char line[320];
  std::snprintf(line, sizeof line, "A = %s: %s, L = %d, m2 = %g, lam = %g, %d x %ld records\n", a_name.c_str(),
                a.algorithm.c_str(), a.L, a.m2, a.lam, a.n_chains, a.n_records);
  out << line;
  std::snprintf(line, sizeof line, "B = %s: %s, L = %d, m2 = %g, lam = %g, %d x %ld records\n", b_name.c_str(),
                b.algorithm.c_str(), b.L, b.m2, b.lam, b.n_chains, b.n_records);
  out << line;
  if (a.L != b.L || a.m2 != b.m2 || a.lam != b.lam) out << "warning: the ensembles are of different theories\n";
  std::snprintf(line, sizeof line, "%-24s %24s %24s %10s\n", "quantity", "A", "B", "(A-B)/err");
  out << line;
  const auto rows_a = named_estimates(a), rows_b = named_estimates(b);
  std::map<std::string, Estimate> by_name_a(rows_a.begin(), rows_a.end()), by_name_b(rows_b.begin(), rows_b.end());
  const auto cell = [](const Estimate& e) {
    char text[64];
    std::snprintf(text, sizeof text, "%.6g +- %.2g", e.value, e.error);
    return std::string(text);
  };
  const auto compare = [&](const std::string& name, const Estimate& x, const Estimate& y) {
    const double combined = std::sqrt(x.error * x.error + y.error * y.error);
    std::snprintf(line, sizeof line, "%-24s %24s %24s %10.2f\n", name.c_str(), cell(x).c_str(), cell(y).c_str(),
                  combined > 0 ? (x.value - y.value) / combined : 0.0);
    out << line;
  };
  // A reweighted estimate of one ensemble is compared with the same quantity of the other, reweighted or not.
  for (const auto& [name, x] : rows_a) {
    if (name == "acceptance" && a.algorithm != b.algorithm) continue;  // rates of different algorithms
    auto found = by_name_b.find(name);
    if (found == by_name_b.end()) found = by_name_b.find(base_name(name));
    if (found != by_name_b.end()) compare(name, x, found->second);
  }
  for (const auto& [name, y] : rows_b) {
    if (base_name(name) == name || by_name_a.count(name)) continue;
    const auto found = by_name_a.find(base_name(name));
    if (found != by_name_a.end()) compare(name, found->second, y);
  }
  return out.str();
}

namespace {

/// A number as JSON: null where it is not finite (an undefined pole mass), which JSON cannot write otherwise.
void json_number(std::ostringstream& out, double x) {
  if (std::isfinite(x)) {
    char text[32];
    std::snprintf(text, sizeof text, "%.10g", x);
    out << text;
  } else {
    out << "null";
  }
}

void json_estimate(std::ostringstream& out, const Estimate& e) {
  const auto number = [&](double x) { json_number(out, x); };
  out << "{\"value\": ";
  number(e.value);
  out << ", \"error\": ";
  number(e.error);
  out << ", \"tau_int\": ";
  number(e.tau_int);
  out << ", \"tau_int_error\": ";
  number(e.tau_int_error);
  out << "}";
}

void json_list(std::ostringstream& out, const std::vector<Estimate>& list) {
  out << "[";
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i) out << ", ";
    json_estimate(out, list[i]);
  }
  out << "]";
}

}  // namespace

std::string to_json(const EnsembleAnalysis& r) {
  std::ostringstream out;
  out << "{\n  \"L\": " << r.L << ",\n  \"m2\": " << r.m2 << ",\n  \"lam\": " << r.lam << ",\n  \"algorithm\": \""
      << r.algorithm << "\",\n  \"n_chains\": " << r.n_chains << ",\n  \"n_records\": " << r.n_records
      << ",\n  \"discarded\": " << r.discarded << ",\n  \"record_spacing\": " << r.record_spacing << ",\n";
  if (r.has_acceptance) {
    out << "  \"acceptance\": ";
    json_estimate(out, r.acceptance);
    out << ",\n";
  }
  for (const auto& [name, e] : r.observables) {
    out << "  \"" << name << "\": ";
    json_estimate(out, e);
    out << ",\n";
  }
  out << "  \"chi2\": ";
  json_estimate(out, r.chi2);
  out << ",\n  \"chi2_jackknife_error\": ";
  json_number(out, r.chi2_jackknife_error);
  out << ",\n  \"m_p\": ";
  json_estimate(out, r.pole_mass);
  out << ",\n  \"m_p_jackknife_error\": ";
  json_number(out, r.pole_mass_jackknife_error);
  out << ",\n  \"Gc\": ";
  json_list(out, r.Gc);
  out << ",\n  \"G_orbit\": ";
  json_list(out, r.G_orbit);
  out << ",\n  \"G_orbit_of_site\": [";
  for (std::size_t s = 0; s < r.G_orbit_of.size(); ++s) out << (s ? ", " : "") << r.G_orbit_of[s];
  out << "],\n";
  if (r.has_proposals) {
    out << "  \"proposals\": {\"n\": " << r.n_proposals << ", \"ess\": ";
    json_number(out, r.proposal_ess);
    for (const auto& [name, e] : r.reweighted) {
      out << ", \"" << name << "\": ";
      json_estimate(out, e);
    }
    out << ", \"chi2\": ";
    json_estimate(out, r.reweighted_chi2);
    out << ", \"chi2_jackknife_error\": ";
    json_number(out, r.reweighted_chi2_jackknife_error);
    out << ", \"m_p\": ";
    json_estimate(out, r.reweighted_pole_mass);
    out << ", \"m_p_jackknife_error\": ";
    json_number(out, r.reweighted_pole_mass_jackknife_error);
    out << ", \"Gc\": ";
    json_list(out, r.reweighted_Gc);
    out << "},\n";
  }
  out << "  \"warnings\": [";
  for (std::size_t i = 0; i < r.warnings.size(); ++i) out << (i ? ", " : "") << "\"" << r.warnings[i] << "\"";
  out << "]\n}\n";
  return out.str();
}

}  // namespace phi4flow::analysis
