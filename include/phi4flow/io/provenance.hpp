// Provenance written at the root of every output file: code version, time, host, input, command line,
// MPI ranks and the SLURM job when there is one.
#pragma once

#include "phi4flow/io/attributes.hpp"
#include "phi4flow/io/config.hpp"

namespace phi4flow::io {

/// \brief Root attributes describing how and by what an output was produced.
AttrList provenance(const Input& input, int n_ranks);

/// \brief Current UTC time as ISO 8601.
std::string utc_now();

}  // namespace phi4flow::io
