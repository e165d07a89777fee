// The human-readable writers of an EnsembleAnalysis: the results table of one ensemble and two side by side.
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "phi4flow/analysis/report.hpp"

namespace phi4flow::analysis {

namespace {

/// m_p L: the pole mass in units of the inverse lattice size.
Estimate times_L(const Estimate& e, int L) {
  return Estimate{e.value * L, e.error * L, e.tau_int, e.tau_int_error};
}

/// One row of the table: name, value, error, tau_int.
void row(std::ostringstream& out, const std::string& name, const Estimate& x) {
  char line[256];
  std::snprintf(line, sizeof line, "%-14s %14.6g %12.3g %10.2f\n", name.c_str(), x.value, x.error, x.tau_int);
  out << line;
}

/// The rows of one set of estimates: observables, chi2, m_p, m_p L, and the jackknife cross-check.
void estimate_rows(std::ostringstream& out, const Estimates& e, int L, const char* jackknife_label) {
  for (const auto& [name, x] : e.observables) row(out, name, x);
  row(out, "chi2", e.chi2);
  row(out, "m_p", e.pole_mass);
  row(out, "m_p L", times_L(e.pole_mass, L));
  char line[256];
  std::snprintf(line, sizeof line, "%s: chi2 %.3g, m_p L %.3g\n", jackknife_label, e.chi2_jackknife_error,
                e.pole_mass_jackknife_error * L);
  out << line;
}

}  // namespace

std::string format_table(const EnsembleAnalysis& r) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%s ensemble: L = %d, m2 = %g, lam = %g, %d chains x %ld records (%ld discarded)\n",
                r.algorithm.c_str(), r.L, r.m2, r.lam, r.n_chains, r.n_records, r.discarded);
  out << line;
  std::snprintf(line, sizeof line, "%-14s %14s %12s %10s   (tau_int in records, %ld MC steps apart)\n", "quantity",
                "value", "error", "tau_int", r.record_spacing);
  out << line;
  if (r.acceptance) row(out, "acceptance", *r.acceptance);
  estimate_rows(out, r.chain, r.L, "jackknife errors");
  if (r.proposals) {
    std::snprintf(line, sizeof line,
                  "proposals: %ld, ESS %.4f (paper Eq. 10); reweighted from them (sum w O / sum w):\n",
                  r.proposals->n, r.proposals->ess);
    out << line;
    estimate_rows(out, r.proposals->reweighted, r.L, "jackknife errors (reweighted)");
  }
  for (const auto& warning : r.warnings) out << "warning: " << warning << "\n";
  return out.str();
}

namespace {

const std::string reweighted_suffix = " (reweighted)";

/// The comparable estimates of one set by name, each name with `suffix`: observables, chi2, m_p as m_p L, Gc(t).
void add_named(std::vector<std::pair<std::string, Estimate>>& rows, const Estimates& e, int L,
               const std::string& suffix) {
  for (const auto& [name, x] : e.observables) rows.emplace_back(name + suffix, x);
  rows.emplace_back("chi2" + suffix, e.chi2);
  rows.emplace_back("m_p L" + suffix, times_L(e.pole_mass, L));
  for (std::size_t t = 0; t < e.Gc.size(); ++t) rows.emplace_back("Gc(" + std::to_string(t) + ")" + suffix, e.Gc[t]);
}

/// Every estimate of an analysis by name; m_p as m_p L, reweighted ones with reweighted_suffix.
std::vector<std::pair<std::string, Estimate>> named_estimates(const EnsembleAnalysis& r) {
  std::vector<std::pair<std::string, Estimate>> rows;
  if (r.acceptance) rows.emplace_back("acceptance", *r.acceptance);
  add_named(rows, r.chain, r.L, "");
  if (r.proposals) add_named(rows, r.proposals->reweighted, r.L, reweighted_suffix);
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

}  // namespace phi4flow::analysis
