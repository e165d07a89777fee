// Writers of an EnsembleAnalysis: the human-readable table, two analyses side by side, and the machine-readable
// results file (JSON, schema in docs/file-format.md, "Analysis results"). They only render: every number comes
// from analysis::analyze.
#pragma once

#include <string>

#include "phi4flow/analysis/ensemble_analysis.hpp"

namespace phi4flow::analysis {

/// \brief Human-readable table of the main results (src/analysis/text_report.cpp).
std::string format_table(const EnsembleAnalysis& result);

/// \brief Two analyses side by side (labels a_name, b_name): every quantity both have, with the difference in
/// units of its combined error sqrt(err_a^2 + err_b^2); a flow ensemble's reweighted estimates are compared with
/// the other's estimate of the same quantity, reweighted or not (src/analysis/text_report.cpp).
std::string format_comparison(const EnsembleAnalysis& a, const std::string& a_name, const EnsembleAnalysis& b,
                              const std::string& b_name);

/// \brief The results file: every estimate with its error as one JSON object, non-finite numbers as null
/// (src/analysis/json_report.cpp).
std::string to_json(const EnsembleAnalysis& result);

}  // namespace phi4flow::analysis
