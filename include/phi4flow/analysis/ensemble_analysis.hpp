// Analysis of an ensemble file (docs/file-format.md, "Analysis results"): means of the per-configuration observables, chi2, the
// connected correlators G(x) and Gc(t), and the pole mass m_p, with Gamma-method errors (Wolff) over all
// chains as replicas, and binned-jackknife errors of the derived quantities as a cross-check. For flow
// Metropolis-Hastings ensembles also the effective sample size of the raw proposals (paper Eq. 10) and every
// estimate reweighted from them (<O> = sum w O / sum w).
//
// The result is data: one EnsembleAnalysis, rendered by the writers of analysis/report.hpp (text table,
// comparison of two ensembles, JSON). The chain's estimates and the proposals' reweighted ones are the same
// structure, Estimates, computed by the same code: every mean is the ratio estimator sum_i w_i O_i / sum_i w_i,
// with unit weights for the chain's records and the importance weights w = exp(-S - log q) for the proposals.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "phi4flow/io/ensemble.hpp"

namespace phi4flow::analysis {

/// A Monte Carlo estimate with its Gamma-method error; tau_int in units of records.
struct Estimate {
  double value = 0.0;
  double error = 0.0;
  double tau_int = 0.5;
  double tau_int_error = 0.0;
};

/// Every estimate of one sample of configurations (the chain's records, or the raw flow proposals reweighted).
/// An undefined pole mass (a slice ratio of Gc below 1 at the means) is NaN throughout, with a warning.
struct Estimates {
  /// Means of the per-configuration scalars, by series name: for the chain every record series but the accept
  /// flags (exp(-dH) in place of dH); for the proposals M, abs_M, M2, S_per_site.
  std::vector<std::pair<std::string, Estimate>> observables;
  Estimate chi2;  ///< N (<M^2> - <M>^2), N = L^2
  double chi2_jackknife_error = 0.0;
  Estimate pole_mass;  ///< m_p (paper Eq. 13 with arccosh; docs/file-format.md), in lattice units
  double pole_mass_jackknife_error = 0.0;
  std::vector<Estimate> Gc;  ///< connected slice correlator Gc(t) = <gc(t)> - <M>^2, t = 0..L-1
  /// Connected G(x) = <C(x)> - <M>^2 averaged over each D4 orbit of displacements x (EnsembleAnalysis::G_orbit_of);
  /// empty where the sample has no stored fields (always for the proposals).
  std::vector<Estimate> G_orbit;
};

/// The raw flow proposals of a flow-mh ensemble and the estimates reweighted from them.
struct ProposalReweighting {
  long n = 0;        ///< proposals used, over all chains
  double ess = 0.0;  ///< (sum w)^2 / (n sum w^2), in (0, 1]
  Estimates reweighted;
};

struct EnsembleAnalysis {
  int L = 0;
  int n_chains = 0;
  long n_records = 0;       ///< per chain, after discarding
  long discarded = 0;       ///< records dropped at the start of every chain
  long record_spacing = 1;  ///< Monte Carlo steps between records: tau_int is in units of records
  std::string algorithm;
  double m2 = 0.0, lam = 0.0;
  std::optional<Estimate> acceptance;  ///< from the per-record accept flags, where the sampler stores them
  Estimates chain;                     ///< from the chain's records
  std::vector<int> G_orbit_of;         ///< G_orbit_of[s]: the orbit of the displacement at site s (with G_orbit)
  /// Only for ensembles that store the raw proposals (proposal_log_w and proposal_Gc) with finite log weights.
  std::optional<ProposalReweighting> proposals;
  std::vector<std::string> warnings;  ///< series left out of the analysis, undefined estimates, and why
};

/// \brief Analyse an ensemble, dropping the first `discard` records of every chain.
EnsembleAnalysis analyze(const io::Ensemble& ensemble, long discard = 0);

}  // namespace phi4flow::analysis
