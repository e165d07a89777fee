// What phi4flow symmetry measures, as written to its --output file (docs/file-format.md, "Symmetry files").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phi4flow/io/attributes.hpp"
#include "phi4flow/lattice/lattice.hpp"

namespace phi4flow::io {

/// log q over the lattice images and sign flips of a set of configurations from an ensemble.
struct SymmetryRecords {
  std::vector<std::int64_t> chain, record;  ///< [config] where each configuration comes from
  std::vector<double> action;               ///< [config]
  std::vector<double> log_q;                ///< [config][sign][image]
  std::vector<double> spread;               ///< [config]: max - min of log q over the lattice images
  std::vector<double> sign_spread;          ///< [config]: max over images of |log q(-phi) - log q(phi)|
};

/// \brief Write `records` with the images' symmetries, the model's identity and the root attributes to `path`
/// (one process); an interrupted write leaves no file under `path`.
void write_symmetry_file(const std::string& path, const AttrList& root, const AttrList& model,
                         const std::vector<LatticeSymmetry>& group, const SymmetryRecords& records);

}  // namespace phi4flow::io
