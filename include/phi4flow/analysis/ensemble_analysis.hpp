// Analysis of an ensemble file (math.md Section 2): means of the per-configuration observables, chi2, the
// connected correlators G(x) and Gc(t), and the pole mass m_p, with Gamma-method errors (Wolff) over all
// chains as replicas, and binned-jackknife errors of the derived quantities as a cross-check. For flow
// Metropolis-Hastings ensembles also the effective sample size of the raw proposals (math.md Eq. 10) and every
// estimate reweighted from them (<O> = sum w O / sum w), and a side-by-side comparison of two ensembles.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "phi4flow/io/ensemble.hpp"

namespace phi4flow::analysis {

struct Estimate {
  double value = 0.0;
  double error = 0.0;
  double tau_int = 0.5;
  double tau_int_error = 0.0;
};

struct EnsembleAnalysis {
  int L = 0;
  int n_chains = 0;
  long n_records = 0;       ///< per chain, after discarding
  long discarded = 0;       ///< records dropped at the start of every chain
  long record_spacing = 1;  ///< Monte Carlo steps between records: tau_int is in units of records
  std::string algorithm;
  double m2 = 0.0, lam = 0.0;
  bool has_acceptance = false;
  Estimate acceptance;                                        ///< from the per-record accept flags
  std::vector<std::pair<std::string, Estimate>> observables;  ///< per-configuration scalars
  Estimate chi2;                                              ///< N (<M^2> - <M>^2)
  double chi2_jackknife_error = 0.0;
  Estimate pole_mass;  ///< m_p (math.md Eq. 13 with arccosh)
  double pole_mass_jackknife_error = 0.0;
  std::vector<Estimate> Gc;  ///< Gc(t), t = 0..L-1
  /// G(x) averaged over each D4 orbit of displacements (empty without stored fields); G_orbit_of[s] maps a
  /// displacement to its orbit.
  std::vector<Estimate> G_orbit;
  std::vector<int> G_orbit_of;
  std::vector<std::string> warnings;  ///< series left out of the analysis, and why

  /// Reweighting of the raw flow proposals (only for ensembles that store proposal_log_w): the same quantities
  /// as ratio estimators sum_i w_i O_i / sum_i w_i, w = exp(-S - log q), with Gamma-method errors.
  bool has_proposals = false;
  long n_proposals = 0;                                      ///< proposals used, over all chains
  double proposal_ess = 0.0;                                 ///< (sum w)^2 / (n sum w^2), in (0, 1]
  std::vector<std::pair<std::string, Estimate>> reweighted;  ///< M, abs_M, M2, S_per_site
  Estimate reweighted_chi2;
  double reweighted_chi2_jackknife_error = 0.0;
  Estimate reweighted_pole_mass;
  double reweighted_pole_mass_jackknife_error = 0.0;
  std::vector<Estimate> reweighted_Gc;
};

/// \brief Analyse an ensemble, dropping the first `discard` records of every chain.
EnsembleAnalysis analyze(const io::Ensemble& ensemble, long discard = 0);

/// \brief Human-readable table of the main results.
std::string format_table(const EnsembleAnalysis& result);

/// \brief Two analyses side by side (labels a_name, b_name): every quantity both have, with the difference in
/// units of its combined error sqrt(err_a^2 + err_b^2); a flow ensemble's reweighted estimates are compared too.
std::string format_comparison(const EnsembleAnalysis& a, const std::string& a_name, const EnsembleAnalysis& b,
                              const std::string& b_name);

/// \brief Machine-readable results (JSON) with every estimate and its error.
std::string to_json(const EnsembleAnalysis& result);

}  // namespace phi4flow::analysis
