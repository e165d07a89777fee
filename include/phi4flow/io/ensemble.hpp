// The ensemble file that every sampler writes (HMC, flow Metropolis-Hastings) and that analysis reads:
// EnsembleWriter (all MPI ranks, parallel HDF5, appending in flushed blocks, resumable after a kill) and
// read_ensemble (one process). The layout is documented for users in docs/file-format.md.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "phi4flow/io/attributes.hpp"
#include "phi4flow/parallel/communicator.hpp"

namespace phi4flow::io {

using HostSteps = Kokkos::View<std::int64_t**, Kokkos::LayoutRight, Kokkos::HostSpace>;
using HostReals2 = Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace>;
using HostReals3 = Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace>;

/// What an ensemble holds and which chains this rank writes. Ranks own disjoint contiguous ranges
/// [first_chain, first_chain + local_chains) that together cover [0, n_chains); a rank may own none.
/// The attribute lists are taken from rank 0, so values that differ between ranks (host, time) cannot
/// make the ranks' metadata disagree.
struct EnsembleLayout {
  int L = 0;
  int n_chains = 0;
  int first_chain = 0;
  int local_chains = 0;
  /// The global id of each of the file's chains (/configs/chain), which keys its random streams: a job array's
  /// tasks hold disjoint ranges, and `phi4flow merge` joins them. Empty: 0 .. n_chains - 1.
  std::vector<std::int64_t> chain_ids;
  bool store_fields = true;
  /// Records per chain to allocate when the file is created (or grown to on resume). Appends within it change
  /// no HDF5 metadata but the commit record, which is what makes a kill during a write harmless; appends
  /// beyond it extend the datasets (metadata changes again).
  std::int64_t capacity = 0;
  std::vector<std::string> record_scalars;  ///< names of the per-record scalar series (M, abs_M, dH, ...)
  std::vector<std::string> record_vectors;  ///< names of further per-record series of L numbers, like Gc
  std::vector<std::string> state_values;    ///< names of per-chain numbers kept with the state for resuming
  AttrList root, lattice, action, algorithm, rng;
};

/// One block of records for this rank's chains: n records per chain, plus the chains' state after it.
struct RecordBlock {
  int n = 0;
  HostSteps step;                             ///< [local_chain][n] Monte Carlo step of each record
  HostReals3 phi;                             ///< [local_chain][n][L*L] (unused if !store_fields)
  std::map<std::string, HostReals2> scalars;  ///< one [local_chain][n] series per record_scalars name
  HostReals3 gc;                              ///< [local_chain][n][L] zero-momentum slice correlator
  std::map<std::string, HostReals3> vectors;  ///< one [local_chain][n][L] series per record_vectors name
  HostReals2 state_phi;                       ///< [local_chain][L*L] field of each chain after the block
  HostReals2 state_values;                    ///< [local_chain][state_values.size()] after the block
  std::int64_t next_step = 0;                 ///< the Monte Carlo step a resumed run starts with
};

/// \brief Host buffers for up to `capacity` records of this rank's chains, shaped by `layout` (n = 0).
RecordBlock make_record_block(const EnsembleLayout& layout, int capacity);

/// \brief The first `block.n` records of a block, copied into Views of exactly that size (the writer takes
/// contiguous [chain][n] data), with the same state.
RecordBlock leading_records(const RecordBlock& block);

/// Writes one ensemble file from all ranks of a communicator. Every member function except the accessors
/// is collective. Move-only.
class EnsembleWriter {
 public:
  /// \brief Collective. Create `path`; InputError naming it if it exists and !overwrite.
  static EnsembleWriter create(const Communicator& comm, const std::string& path, const EnsembleLayout& layout, bool overwrite);

  /// \brief Collective. Open `path` to append to it: InputError naming the file and the quantity if L,
  /// n_chains, the chain ids, store_fields, the record names, or any lattice/action attribute given in `layout`
  /// differ from the file; drops records beyond the last complete block; reads back this rank's state.
  static EnsembleWriter resume(const Communicator& comm, const std::string& path, const EnsembleLayout& layout);

  EnsembleWriter(EnsembleWriter&&) noexcept;
  EnsembleWriter& operator=(EnsembleWriter&&) noexcept;
  ~EnsembleWriter();

  /// \brief Records per chain that are complete in the file.
  std::int64_t records_complete() const;
  /// \brief The Monte Carlo step to run next (0 for a new file).
  std::int64_t next_step() const;
  /// \brief False until the first append: a new file holds no chain state to continue from.
  bool has_state() const;
  /// \brief [local_chain][L*L] this rank's chains after the last complete block (zeros if !has_state()).
  HostReals2 state_phi() const;
  /// \brief [local_chain][k] the layout's state_values after the last complete block (zeros if !has_state()).
  HostReals2 state_values() const;

  /// \brief Collective: every rank appends the same number of records (block.n, which may be 0 to save
  /// only the state). Extends the datasets, writes the records and the state, flushes, then commits the
  /// block by rewriting the commit attributes on /configs and flushing again: a process killed at any point
  /// outside this call leaves a file whose first n_complete records and whose state are complete.
  void append(const RecordBlock& block);

  /// \brief Collective: flush and close the file. The destructor closes too, but cannot report failures.
  void close();

 private:
  struct Impl;
  explicit EnsembleWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// An ensemble as read for analysis: the complete records of every chain.
struct Ensemble {
  int L = 0;
  int n_chains = 0;
  std::int64_t n_records = 0;                      ///< complete records per chain
  std::int64_t next_step = 0;                      ///< the Monte Carlo step a resumed run would start with
  bool has_fields = false;                         ///< whether the file stores configurations
  std::vector<std::int64_t> chain_ids;             ///< [chain] global chain ids (0 .. n_chains - 1 in old files)
  AttrList root, lattice, action, algorithm, rng;  ///< as written; root without format, format_version
  HostSteps step;                                  ///< [chain][record]
  HostReals3 phi;                                  ///< [chain][record][L*L]; empty unless read
  std::map<std::string, HostReals2> scalars;       ///< [chain][record] for each record series
  HostReals3 gc;                                   ///< [chain][record][L]
  std::map<std::string, HostReals3> vectors;       ///< [chain][record][L] for each further series of L numbers
  /// The committed chain state (as a resumed run reads it): [chain][L*L] and one [chain] column per state value;
  /// empty before the first block. Read along with the fields.
  HostReals2 state_phi;
  std::map<std::string, std::vector<double>> state_values;
};

/// \brief Read an ensemble with one process (no MPI), only its first n_complete records (and, with the fields,
/// the committed chain state). InputError naming the path if the file is missing, not HDF5, not a phi4flow
/// ensemble, of a newer format, or corrupt.
Ensemble read_ensemble(const std::string& path, bool read_fields = true);

}  // namespace phi4flow::io
