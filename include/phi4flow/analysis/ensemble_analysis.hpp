// Analysis of an ensemble file (math.md Section 2): means of the per-configuration observables, chi2, the
// connected correlators G(x) and Gc(t), and the pole mass m_p, with Gamma-method errors (Wolff) over all
// chains as replicas, and binned-jackknife errors of the derived quantities as a cross-check.
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
  Estimate acceptance;                                       ///< from the per-record accept flags
  std::vector<std::pair<std::string, Estimate>> observables;  ///< per-configuration scalars
  Estimate chi2;             ///< N (<M^2> - <M>^2)
  double chi2_jackknife_error = 0.0;
  Estimate pole_mass;        ///< m_p (math.md Eq. 13 with arccosh)
  double pole_mass_jackknife_error = 0.0;
  std::vector<Estimate> Gc;  ///< Gc(t), t = 0..L-1
  /// G(x) averaged over each D4 orbit of displacements (empty without stored fields); G_orbit_of[s] maps a
  /// displacement to its orbit.
  std::vector<Estimate> G_orbit;
  std::vector<int> G_orbit_of;
  std::vector<std::string> warnings;  ///< series left out of the analysis, and why
};

/// \brief Analyse an ensemble, dropping the first `discard` records of every chain.
EnsembleAnalysis analyze(const io::Ensemble& ensemble, long discard = 0);

/// \brief Human-readable table of the main results.
std::string format_table(const EnsembleAnalysis& result);

/// \brief Machine-readable results (JSON) with every estimate and its error.
std::string to_json(const EnsembleAnalysis& result);

}  // namespace phi4flow::analysis
