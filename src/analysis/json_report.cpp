// The machine-readable writer of an EnsembleAnalysis: the results file, through nlohmann::json (every string
// escaped, keys in the order written). Schema: docs/file-format.md, "Analysis results (*.results.json)".
#include <cmath>
#include <nlohmann/json.hpp>

#include "phi4flow/analysis/report.hpp"

namespace phi4flow::analysis {

namespace {

using Json = nlohmann::ordered_json;

/// A number, or null where it is not finite (an undefined pole mass): JSON has no NaN or infinity.
Json number(double x) {
  return std::isfinite(x) ? Json(x) : Json(nullptr);
}

Json estimate(const Estimate& e) {
  return Json{{"value", number(e.value)},
              {"error", number(e.error)},
              {"tau_int", number(e.tau_int)},
              {"tau_int_error", number(e.tau_int_error)}};
}

Json estimate_list(const std::vector<Estimate>& list) {
  Json out = Json::array();
  for (const Estimate& e : list) out.push_back(estimate(e));
  return out;
}

/// One set of estimates into `out`: the observables by name, chi2, m_p, their jackknife errors, Gc, G_orbit.
void add_estimates(Json& out, const Estimates& e) {
  for (const auto& [name, x] : e.observables) out[name] = estimate(x);
  out["chi2"] = estimate(e.chi2);
  out["chi2_jackknife_error"] = number(e.chi2_jackknife_error);
  out["m_p"] = estimate(e.pole_mass);
  out["m_p_jackknife_error"] = number(e.pole_mass_jackknife_error);
  out["Gc"] = estimate_list(e.Gc);
  out["G_orbit"] = estimate_list(e.G_orbit);
}

}  // namespace

std::string to_json(const EnsembleAnalysis& r) {
  Json out = Json::object();
  out["L"] = r.L;
  out["m2"] = number(r.m2);
  out["lam"] = number(r.lam);
  out["algorithm"] = r.algorithm;
  out["n_chains"] = r.n_chains;
  out["n_records"] = r.n_records;
  out["discarded"] = r.discarded;
  out["record_spacing"] = r.record_spacing;
  if (r.acceptance) out["acceptance"] = estimate(*r.acceptance);
  add_estimates(out, r.chain);
  out["G_orbit_of_site"] = r.G_orbit_of;
  if (r.proposals) {
    Json proposals = Json::object();
    proposals["n"] = r.proposals->n;
    proposals["ess"] = number(r.proposals->ess);
    add_estimates(proposals, r.proposals->reweighted);
    out["proposals"] = std::move(proposals);
  }
  out["warnings"] = r.warnings;
  // Strings from a file (the algorithm's name) need not be valid UTF-8: replace bad bytes rather than fail.
  return out.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace phi4flow::analysis
