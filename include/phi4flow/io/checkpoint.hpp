// Training checkpoints: the flat parameter buffer, optimiser moments, counters and metadata of a flow
// model in one HDF5 file, written atomically (a killed job leaves the previous checkpoint or the new one,
// never a mixture). Written by one process; the layout is documented in docs/file-format.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "phi4flow/io/attributes.hpp"

namespace phi4flow::io {

struct Checkpoint {
  AttrList root, model, training, rng;                ///< metadata; root without format/format_version
  std::map<std::string, std::vector<double>> arrays;  ///< parameters, adam_m, adam_v, ...
  std::map<std::string, std::int64_t> counters;       ///< step, ...
};

/// \brief Write `checkpoint` to "<path>.tmp", flush it to disk, and rename it onto `path`. RuntimeError
/// naming the file if any step fails (the temporary file is then removed and `path` left as it was).
void write_checkpoint(const std::string& path, const Checkpoint& checkpoint);

/// \brief Read a checkpoint. InputError naming `path` and the problem for a missing file, a file that is
/// not HDF5, not a phi4flow checkpoint, of another format version, or truncated or corrupt.
Checkpoint read_checkpoint(const std::string& path);

}  // namespace phi4flow::io
