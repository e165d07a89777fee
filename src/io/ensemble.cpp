// The ensemble file: layout, collective checks, the block-wise commit protocol, and the serial reader.
//
// Commit protocol. Records, dataset extents and the chain state are written first and flushed; only then
// are the three commit attributes on /configs (n_complete, next_step, state_slot) rewritten and flushed.
// The state lives in two slots and each block writes the slot that is not committed, so the committed
// state is never overwritten in place: after a kill, the commit attributes, the records they count and
// the state they point to always belong to the same block.
#include "phi4flow/io/ensemble.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>

#include "phi4flow/error.hpp"
#include "hdf5.hpp"
#include "phi4flow/parallel/mpi_comm.hpp"
#include "phi4flow/types.hpp"

namespace phi4flow::io {

namespace {

constexpr const char* kFormat = "phi4flow-ensemble";
constexpr std::int64_t kFormatVersion = 1;
constexpr hsize_t kSeriesChunk = 1024;      // records per chunk of a [chain, cfg] series: 8 KiB
constexpr hsize_t kCorrelatorChunk = 8192;  // values per chunk of /records/Gc: 64 KiB
constexpr const char* kMetaGroups[] = {"lattice", "action", "algorithm", "rng"};

int rank_of(MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  return rank;
}

// Every rank throws if any rank found an error, so that no rank is left waiting in a collective call.
template <class Error>
void throw_if_any(MPI_Comm comm, const std::string& local_error, const std::string& elsewhere) {
  const int mine = local_error.empty() ? 0 : 1;
  int any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm);
  if (any) throw Error(mine ? local_error : elsewhere);
}

int broadcast_flag(MPI_Comm comm, bool flag) {
  int value = flag ? 1 : 0;
  MPI_Bcast(&value, 1, MPI_INT, 0, comm);
  return value;
}

bool file_exists(const std::string& path) {
  std::error_code ignored;
  return std::filesystem::exists(path, ignored);
}

void broadcast(MPI_Comm comm, AttrList& attrs) {
  std::string bytes = rank_of(comm) == 0 ? serialize(attrs) : std::string();
  wrap(comm).broadcast(bytes);
  if (rank_of(comm) != 0) attrs = deserialize(bytes);
}

void broadcast_attrs(MPI_Comm comm, EnsembleLayout& layout) {
  for (AttrList* attrs : {&layout.root, &layout.lattice, &layout.action, &layout.algorithm, &layout.rng})
    broadcast(comm, *attrs);
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return "{" + text + "}";
}

std::string local_layout_error(const EnsembleLayout& layout) {
  if (layout.L < 2) return "L = " + std::to_string(layout.L) + " < 2";
  if (layout.n_chains < 1) return "n_chains = " + std::to_string(layout.n_chains) + " < 1";
  if (layout.first_chain < 0 || layout.local_chains < 0 || layout.first_chain + layout.local_chains > layout.n_chains)
    return "chains [" + std::to_string(layout.first_chain) + ", " +
           std::to_string(layout.first_chain + layout.local_chains) + ") outside [0, " +
           std::to_string(layout.n_chains) + ")";
  std::set<std::string> seen;
  for (const auto* names : {&layout.record_scalars, &layout.record_vectors})
    for (const auto& name : *names)
      if (name.empty() || name == "Gc" || name.find('/') != std::string::npos || name == "." ||
          !seen.insert(name).second)
        return "record series name '" + name + "' is empty, reserved (Gc), contains '/', or repeated";
  std::set<std::string> state_seen;
  for (const auto& name : layout.state_values)
    if (name.empty() || name == "phi" || name.find('/') != std::string::npos || name == "." ||
        !state_seen.insert(name).second)
      return "state value name '" + name + "' is empty, reserved (phi), contains '/', or repeated";
  for (const AttrList* attrs : {&layout.root, &layout.lattice, &layout.action, &layout.algorithm, &layout.rng}) {
    std::set<std::string> names;
    for (const auto& entry : *attrs)
      if (entry.first.empty() || !names.insert(entry.first).second)
        return "attribute name '" + entry.first + "' is empty or repeated";
  }
  if (!layout.chain_ids.empty()) {
    if (layout.chain_ids.size() != static_cast<std::size_t>(layout.n_chains))
      return "chain_ids holds " + std::to_string(layout.chain_ids.size()) + " ids for " +
             std::to_string(layout.n_chains) + " chains";
    if (std::set<std::int64_t>(layout.chain_ids.begin(), layout.chain_ids.end()).size() != layout.chain_ids.size() ||
        *std::min_element(layout.chain_ids.begin(), layout.chain_ids.end()) < 0)
      return "chain_ids are not distinct non-negative ids";
  }
  if (has_attr(layout.root, "format") || has_attr(layout.root, "format_version"))
    return "root attributes may not set 'format' or 'format_version', which the writer owns";
  return {};
}

// A layout is the caller's contract, not user input, so a bad one is a RuntimeError (on every rank).
void check_layout(MPI_Comm comm, const EnsembleLayout& layout) {
  const std::string error = local_layout_error(layout);
  throw_if_any<RuntimeError>(
      comm, error.empty() ? "" : "ensemble layout on rank " + std::to_string(rank_of(comm)) + ": " + error,
      "ensemble layout invalid on another rank");
  int size = 1;
  MPI_Comm_size(comm, &size);
  const auto names_hash = static_cast<long long>(std::hash<std::string>()(
      joined(layout.record_scalars) + joined(layout.record_vectors) + joined(layout.state_values)));
  const long long mine[6] = {layout.L,           layout.n_chains,     layout.store_fields,
                             layout.first_chain, layout.local_chains, names_hash};
  std::vector<long long> all(6 * static_cast<std::size_t>(size));
  MPI_Allgather(mine, 6, MPI_LONG_LONG, all.data(), 6, MPI_LONG_LONG, comm);
  std::vector<std::pair<long long, long long>> ranges;
  for (int r = 0; r < size; ++r) {
    const long long* theirs = &all[6 * static_cast<std::size_t>(r)];
    if (theirs[0] != mine[0] || theirs[1] != mine[1] || theirs[2] != mine[2] || theirs[5] != mine[5])
      throw RuntimeError("ensemble layout: ranks disagree on L, n_chains, store_fields or record_scalars");
    if (theirs[4] > 0) ranges.emplace_back(theirs[3], theirs[4]);
  }
  std::sort(ranges.begin(), ranges.end());
  long long next = 0;
  for (const auto& [first, count] : ranges) {
    if (first != next) break;
    next += count;
  }
  if (next != layout.n_chains)
    throw RuntimeError("ensemble layout: the ranks' chain ranges do not tile [0, " + std::to_string(layout.n_chains) +
                       ") without gaps or overlaps");
}

// One [chain, cfg, ...] dataset that grows by a block of records at every append.
struct Series {
  std::string path;
  std::vector<hsize_t> tail;  // dimensions after [chain, cfg]
};

std::vector<Series> series_of(int L, bool store_fields, const std::vector<std::string>& scalars,
                              const std::vector<std::string>& vectors) {
  const auto l = static_cast<hsize_t>(L);
  std::vector<Series> series = {{"configs/step", {}}};
  if (store_fields) series.push_back({"configs/phi", {l, l}});
  for (const auto& name : scalars) series.push_back({"records/" + name, {}});
  series.push_back({"records/Gc", {l}});
  for (const auto& name : vectors) series.push_back({"records/" + name, {l}});
  return series;
}

std::vector<hsize_t> with_records(const Series& s, hsize_t chains, hsize_t records) {
  std::vector<hsize_t> dims = {chains, records};
  dims.insert(dims.end(), s.tail.begin(), s.tail.end());
  return dims;
}

// What the file itself says about its shape and its last commit.
struct Stored {
  int L = 0;
  int n_chains = 0;
  bool has_fields = false;
  std::vector<std::string> scalars;  // in name order
  std::vector<std::string> vectors;  // series of L numbers besides Gc, in name order
  std::vector<std::int64_t> chain_ids;  // /configs/chain, or 0 .. n_chains - 1 in files written before it
  std::int64_t n_complete = 0;
  std::int64_t next_step = 0;
  std::int64_t state_slot = -1;
};

std::vector<std::int64_t> chain_ids_of(const EnsembleLayout& layout) {
  if (!layout.chain_ids.empty()) return layout.chain_ids;
  std::vector<std::int64_t> ids(static_cast<std::size_t>(layout.n_chains));
  for (std::size_t c = 0; c < ids.size(); ++c) ids[c] = static_cast<std::int64_t>(c);
  return ids;
}

std::string id_range(const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return "none";
  bool contiguous = true;
  for (std::size_t c = 1; c < ids.size(); ++c) contiguous = contiguous && ids[c] == ids[c - 1] + 1;
  if (contiguous) return std::to_string(ids.front()) + " .. " + std::to_string(ids.back());
  std::string text;
  for (const auto id : ids) text += (text.empty() ? "" : ", ") + std::to_string(id);
  return text;
}

Stored read_stored(hid_t file, const std::string& path) {
  Stored stored;
  const Handle gc = open_dataset(file, "records/Gc");
  const auto gc_dims = extent(gc.get());
  if (gc_dims.size() != 3) throw InputError("ensemble '" + path + "': /records/Gc is not [chain, cfg, L]");
  stored.n_chains = static_cast<int>(gc_dims[0]);
  stored.L = static_cast<int>(gc_dims[2]);
  const Handle configs = open_group(file, "configs");
  stored.has_fields = link_exists(configs.get(), "phi");
  const Handle records = open_group(file, "records");
  // A series is a scalar one ([chain, cfg]) or one of L numbers per record ([chain, cfg, L]), as Gc.
  for (auto& name : link_names(records.get())) {
    if (name == "Gc") continue;
    const Handle dataset = open_dataset(records.get(), name);
    (extent(dataset.get()).size() == 3 ? stored.vectors : stored.scalars).push_back(std::move(name));
  }
  const AttrList commit = read_attrs(configs.get());
  const std::string where = "/configs of '" + path + "'";
  stored.n_complete = attr_int(commit, "n_complete", where);
  stored.next_step = attr_int(commit, "next_step", where);
  stored.state_slot = attr_int(commit, "state_slot", where);
  stored.chain_ids.resize(static_cast<std::size_t>(stored.n_chains));
  if (link_exists(configs.get(), "chain")) {
    const Handle ids = open_dataset(configs.get(), "chain");
    if (extent(ids.get()) != std::vector<hsize_t>{static_cast<hsize_t>(stored.n_chains)})
      throw InputError("ensemble '" + path + "': /configs/chain does not hold one id per chain");
    read_slab(ids.get(), {0}, {static_cast<hsize_t>(stored.n_chains)}, stored.chain_ids.data());
  } else {
    for (std::size_t c = 0; c < stored.chain_ids.size(); ++c) stored.chain_ids[c] = static_cast<std::int64_t>(c);
  }
  for (const auto& s : series_of(stored.L, stored.has_fields, stored.scalars, stored.vectors)) {
    const Handle dataset = open_dataset(file, s.path);
    const auto dims = extent(dataset.get());
    const auto expected = with_records(s, static_cast<hsize_t>(stored.n_chains), dims.size() > 1 ? dims[1] : 0);
    if (dims != expected)
      throw InputError("ensemble '" + path + "': /" + s.path +
                       " does not have the shape [chain, cfg, ...] of /records/Gc");
    if (stored.n_complete < 0 || dims[1] < static_cast<hsize_t>(stored.n_complete))
      throw InputError("ensemble '" + path + "' is damaged: n_complete = " + std::to_string(stored.n_complete) +
                       " but /" + s.path + " holds " + std::to_string(dims[1]) + " records");
  }
  if (stored.state_slot < -1 || stored.state_slot > 1)
    throw InputError("ensemble '" + path + "' is damaged: state_slot = " + std::to_string(stored.state_slot));
  return stored;
}

// The resuming run must sample the same distribution: every lattice and action attribute it states must be
// in the file with the same value. Attributes it leaves out are not compared.
void check_same_attrs(hid_t file, const std::string& group, const AttrList& wanted, const std::string& path) {
  const Handle handle = open_group(file, group);
  const AttrList stored = read_attrs(handle.get());
  for (const auto& [name, value] : wanted) {
    if (!has_attr(stored, name))
      throw InputError("cannot resume ensemble '" + path + "': " + group + " attribute '" + name +
                       "' is missing from the file but is " + to_string(value) + " in this run");
    const AttrValue& old = find_attr(stored, name, "");
    if (!(old == value))
      throw InputError("cannot resume ensemble '" + path + "': " + group + " attribute '" + name + "' is " +
                       to_string(old) + " in the file but " + to_string(value) + " in this run");
  }
}

void check_matches(const Stored& stored, const EnsembleLayout& layout, const std::string& path) {
  const std::string prefix = "cannot resume ensemble '" + path + "': ";
  if (stored.L != layout.L)
    throw InputError(prefix + "L = " + std::to_string(stored.L) + " in the file but " + std::to_string(layout.L) +
                     " in this run");
  if (stored.n_chains != layout.n_chains)
    throw InputError(prefix + "n_chains = " + std::to_string(stored.n_chains) + " in the file but " +
                     std::to_string(layout.n_chains) + " in this run");
  if (stored.chain_ids != chain_ids_of(layout))
    throw InputError(prefix + "it holds the chains " + id_range(stored.chain_ids) + ", this run continues " +
                     id_range(chain_ids_of(layout)) + ": give the run.first_chain of the run that wrote it");
  if (stored.has_fields != layout.store_fields)
    throw InputError(prefix + "store_fields = " + (stored.has_fields ? "true" : "false") + " in the file but " +
                     (layout.store_fields ? "true" : "false") + " in this run");
  std::vector<std::string> wanted = layout.record_scalars;
  std::sort(wanted.begin(), wanted.end());
  if (stored.scalars != wanted)
    throw InputError(prefix + "record series " + joined(stored.scalars) + " in the file but " + joined(wanted) +
                     " in this run");
  std::vector<std::string> wanted_vectors = layout.record_vectors;
  std::sort(wanted_vectors.begin(), wanted_vectors.end());
  if (stored.vectors != wanted_vectors)
    throw InputError(prefix + "record series of L numbers " + joined(stored.vectors) + " in the file but " +
                     joined(wanted_vectors) + " in this run");
}

// True if v has the given extents, or is empty where they have a zero (a rank without chains may pass
// default-constructed Views).
template <class View>
bool has_extents(const View& v, std::initializer_list<std::size_t> extents) {
  std::size_t product = 1, r = 0;
  bool same = true;
  for (const std::size_t e : extents) {
    product *= e;
    same = same && v.extent(r++) == e;
  }
  if (product == 0) return v.size() == 0;
  return same && v.span_is_contiguous();
}

std::string block_error(const RecordBlock& block, const EnsembleLayout& layout) {
  const auto c = static_cast<std::size_t>(layout.local_chains);
  const auto n = static_cast<std::size_t>(std::max(block.n, 0));
  const auto l = static_cast<std::size_t>(layout.L);
  if (block.n < 0) return "n = " + std::to_string(block.n) + " < 0";
  if (!has_extents(block.step, {c, n})) return "step is not a contiguous [local_chains][n] View";
  if (layout.store_fields && !has_extents(block.phi, {c, n, l * l}))
    return "phi is not a contiguous [local_chains][n][L*L] View";
  if (!has_extents(block.gc, {c, n, l})) return "gc is not a contiguous [local_chains][n][L] View";
  if (!has_extents(block.state_phi, {c, l * l})) return "state_phi is not a contiguous [local_chains][L*L] View";
  if (!has_extents(block.state_values, {c, layout.state_values.size()}))
    return "state_values is not a contiguous [local_chains][state_values.size()] View";
  if (block.vectors.size() != layout.record_vectors.size()) return "vectors do not match record_vectors";
  for (const auto& name : layout.record_vectors) {
    const auto found = block.vectors.find(name);
    if (found == block.vectors.end()) return "vectors lack '" + name + "'";
    if (!has_extents(found->second, {c, n, l}))
      return "vectors['" + name + "'] is not a contiguous [local_chains][n][L] View";
  }
  if (block.scalars.size() != layout.record_scalars.size()) return "scalars do not match record_scalars";
  for (const auto& name : layout.record_scalars) {
    const auto found = block.scalars.find(name);
    if (found == block.scalars.end()) return "scalars lack '" + name + "'";
    if (!has_extents(found->second, {c, n}))
      return "scalars['" + name + "'] is not a contiguous [local_chains][n] View";
  }
  return {};
}

void write_commit(hid_t configs, std::int64_t n_complete, std::int64_t next_step, std::int64_t state_slot) {
  write_attr(configs, "n_complete", n_complete);
  write_attr(configs, "next_step", next_step);
  write_attr(configs, "state_slot", state_slot);
}

}  // namespace

struct EnsembleWriter::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  std::string path;
  EnsembleLayout layout;
  Handle file;
  std::int64_t n_complete = 0;
  std::int64_t next_step = 0;
  std::int64_t state_slot = -1;  // -1: no state written yet
  std::int64_t allocated = 0;    // records per chain the datasets can hold
  HostReals2 state;
  HostReals2 values;  // [local_chain][state_values]

  Impl(MPI_Comm c, std::string p, EnsembleLayout l)
      : comm(c),
        path(std::move(p)),
        layout(std::move(l)),
        state("phi4flow::io::EnsembleWriter::state", static_cast<std::size_t>(layout.local_chains),
              static_cast<std::size_t>(layout.L) * static_cast<std::size_t>(layout.L)),
        values("phi4flow::io::EnsembleWriter::values", static_cast<std::size_t>(layout.local_chains),
               layout.state_values.size()) {}

  /// Extend every record dataset to `records` per chain (collective; a metadata change, so kept out of the
  /// appends that fit the planned capacity) and flush.
  void grow(std::int64_t records) {
    const auto chains = static_cast<hsize_t>(layout.n_chains);
    for (const auto& s : series_of(layout.L, layout.store_fields, layout.record_scalars, layout.record_vectors))
      set_extent(open_dataset(file.get(), s.path).get(), with_records(s, chains, static_cast<hsize_t>(records)));
    flush(file.get());
    allocated = records;
  }
};

EnsembleWriter::EnsembleWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EnsembleWriter::EnsembleWriter(EnsembleWriter&&) noexcept = default;
EnsembleWriter& EnsembleWriter::operator=(EnsembleWriter&&) noexcept = default;

EnsembleWriter::~EnsembleWriter() {
  if (!impl_ || !impl_->file.valid()) return;
  try {
    impl_->file.close();
  } catch (const std::exception&) {
    // Destructors run during unwinding too; close() is the way to learn about a failed close.
  }
}

EnsembleWriter EnsembleWriter::create(const Communicator& communicator, const std::string& path, const EnsembleLayout& layout,
                                      bool overwrite) {
  const MPI_Comm comm = native(communicator);
  check_layout(comm, layout);
  auto impl = std::make_unique<Impl>(comm, path, layout);
  broadcast_attrs(comm, impl->layout);
  if (broadcast_flag(comm, rank_of(comm) == 0 && file_exists(path)) && !overwrite)
    throw InputError("ensemble file '" + path + "' already exists: resume it, remove it, or allow overwriting");
  // Built under a temporary name and renamed into place once its structure is on disk: a job killed while
  // creating leaves no half-made file under `path` (and an overwritten file stays intact until then).
  const std::string building = path + ".creating";
  impl->file = create_file(building, true, comm);
  const hid_t file = impl->file.get();
  const EnsembleLayout& lay = impl->layout;

  write_attr(file, "format", std::string(kFormat));
  write_attr(file, "format_version", kFormatVersion);
  write_attrs(file, lay.root);
  const AttrList* meta[] = {&lay.lattice, &lay.action, &lay.algorithm, &lay.rng};
  for (int g = 0; g < 4; ++g) write_attrs(create_group(file, kMetaGroups[g]).get(), *meta[g]);

  const Handle configs = create_group(file, "configs");
  create_group(file, "records");
  const Handle state = create_group(file, "state");
  const auto chains = static_cast<hsize_t>(lay.n_chains);
  const auto l = static_cast<hsize_t>(lay.L);
  for (const auto& s : series_of(lay.L, lay.store_fields, lay.record_scalars, lay.record_vectors)) {
    DatasetSpec spec;
    spec.dims = with_records(s, chains, static_cast<hsize_t>(lay.capacity));
    spec.max_dims = with_records(s, chains, H5S_UNLIMITED);
    // One chain per chunk, so no two ranks ever write the same chunk. Fields: one configuration per chunk,
    // so a reader can fetch single configurations and each carries its own checksum.
    const hsize_t per_chunk = s.path == "configs/phi" ? 1
                              : !s.tail.empty()       ? std::max<hsize_t>(1, kCorrelatorChunk / l)
                                                      : kSeriesChunk;
    spec.chunk = with_records(s, 1, per_chunk);
    spec.fletcher32 = s.path == "configs/phi";
    if (s.path == "configs/step")
      create_dataset<std::int64_t>(file, s.path, spec);
    else
      create_dataset<double>(file, s.path, spec);
  }
  {
    DatasetSpec ids_spec;
    ids_spec.dims = {chains};
    const Handle ids = create_dataset<std::int64_t>(configs.get(), "chain", ids_spec);
    const std::vector<std::int64_t> all_ids = chain_ids_of(lay);
    const Handle transfer = collective_transfer();
    write_slab(ids.get(), {static_cast<hsize_t>(lay.first_chain)}, {static_cast<hsize_t>(lay.local_chains)},
               all_ids.data() + lay.first_chain, transfer.get());
  }
  DatasetSpec state_spec;
  state_spec.dims = {2, chains, l * l};
  create_dataset<double>(state.get(), "phi", state_spec);
  DatasetSpec value_spec;
  value_spec.dims = {2, chains};
  for (const auto& name : lay.state_values) create_dataset<double>(state.get(), name, value_spec);
  impl->allocated = lay.capacity;
  write_commit(configs.get(), 0, 0, -1);
  flush(file);
  const bool renamed = broadcast_flag(comm, rank_of(comm) == 0 && std::rename(building.c_str(), path.c_str()) == 0);
  if (!renamed) throw RuntimeError("cannot rename '" + building + "' to '" + path + "'");
  return EnsembleWriter(std::move(impl));
}

EnsembleWriter EnsembleWriter::resume(const Communicator& communicator, const std::string& path,
                                      const EnsembleLayout& layout) {
  const MPI_Comm comm = native(communicator);
  check_layout(comm, layout);
  auto impl = std::make_unique<Impl>(comm, path, layout);
  broadcast_attrs(comm, impl->layout);
  const bool root = rank_of(comm) == 0;
  if (!broadcast_flag(comm, root && file_exists(path)))
    throw InputError("cannot resume ensemble '" + path + "': the file does not exist");
  if (!broadcast_flag(comm, root && is_hdf5_file(path)))
    throw InputError("cannot resume ensemble '" + path + "': not an HDF5 file");
  impl->file = open_file(path, true, comm);
  const hid_t file = impl->file.get();
  read_checked_format(file, path, kFormat, kFormatVersion);
  const Stored stored = read_stored(file, path);
  check_matches(stored, impl->layout, path);
  check_same_attrs(file, "lattice", impl->layout.lattice, path);
  check_same_attrs(file, "action", impl->layout.action, path);
  {
    const Handle state = open_group(file, "state");
    for (const auto& name : impl->layout.state_values)
      if (!link_exists(state.get(), name))
        throw InputError("cannot resume ensemble '" + path + "': it keeps no /state/" + name +
                         ", which this run needs to continue its chains (written by another sampler?)");
  }

  impl->n_complete = stored.n_complete;
  impl->next_step = stored.next_step;
  impl->state_slot = stored.state_slot;
  // Records beyond n_complete (a block being written when the job died) are garbage that the next append
  // overwrites. The datasets only grow here, to the capacity this run plans, before any record is written.
  std::int64_t allocated = std::numeric_limits<std::int64_t>::max();
  for (const auto& s : series_of(stored.L, stored.has_fields, stored.scalars, stored.vectors))
    allocated = std::min(allocated, static_cast<std::int64_t>(extent(open_dataset(file, s.path).get())[1]));
  impl->allocated = allocated;
  if (impl->layout.capacity > allocated) impl->grow(impl->layout.capacity);
  if (impl->state_slot >= 0) {
    const Handle state = open_dataset(file, "state/phi");
    const Handle transfer = collective_transfer();
    read_slab(state.get(), {static_cast<hsize_t>(impl->state_slot), static_cast<hsize_t>(layout.first_chain), 0},
              {1, static_cast<hsize_t>(layout.local_chains), impl->state.extent(1)}, impl->state.data(),
              transfer.get());
    // One value per chain in each dataset; the View holds them [chain][value], so read through a column buffer.
    std::vector<double> column(static_cast<std::size_t>(layout.local_chains));
    for (std::size_t k = 0; k < impl->layout.state_values.size(); ++k) {
      const Handle values = open_dataset(file, "state/" + impl->layout.state_values[k]);
      read_slab(values.get(), {static_cast<hsize_t>(impl->state_slot), static_cast<hsize_t>(layout.first_chain)},
                {1, static_cast<hsize_t>(layout.local_chains)}, column.data(), transfer.get());
      for (std::size_t c = 0; c < column.size(); ++c) impl->values(c, k) = column[c];
    }
  }
  flush(file);
  return EnsembleWriter(std::move(impl));
}

std::int64_t EnsembleWriter::records_complete() const {
  return impl_->n_complete;
}
std::int64_t EnsembleWriter::next_step() const {
  return impl_->next_step;
}
bool EnsembleWriter::has_state() const {
  return impl_->state_slot >= 0;
}
HostReals2 EnsembleWriter::state_phi() const {
  return impl_->state;
}
HostReals2 EnsembleWriter::state_values() const {
  return impl_->values;
}

void EnsembleWriter::append(const RecordBlock& block) {
  Impl& w = *impl_;
  PHI4FLOW_CHECK(w.file.valid(), "append to a closed ensemble writer");
  const EnsembleLayout& lay = w.layout;
  const std::string error = block_error(block, lay);
  throw_if_any<RuntimeError>(w.comm, error.empty() ? "" : "ensemble block: " + error,
                             "ensemble block invalid on another rank");
  const long long mine[2] = {block.n, block.next_step};
  long long lo[2], hi[2];
  MPI_Allreduce(mine, lo, 2, MPI_LONG_LONG, MPI_MIN, w.comm);
  MPI_Allreduce(mine, hi, 2, MPI_LONG_LONG, MPI_MAX, w.comm);
  if (lo[0] != hi[0] || lo[1] != hi[1])
    throw RuntimeError("ensemble block: ranks disagree on the number of records or on next_step");

  const hid_t file = w.file.get();
  const auto first = static_cast<hsize_t>(lay.first_chain);
  const auto local = static_cast<hsize_t>(lay.local_chains);
  const auto old_total = static_cast<hsize_t>(w.n_complete);
  const auto n = static_cast<hsize_t>(block.n);
  if (static_cast<std::int64_t>(old_total + n) > w.allocated) w.grow(static_cast<std::int64_t>(old_total + n));
  const Handle transfer = collective_transfer();
  for (const auto& s : series_of(lay.L, lay.store_fields, lay.record_scalars, lay.record_vectors)) {
    const Handle dataset = open_dataset(file, s.path);
    auto start = with_records(s, first, old_total);
    std::fill(start.begin() + 2, start.end(), 0);  // the tail (site, time) dimensions start at 0
    const auto count = with_records(s, local, n);
    if (s.path == "configs/step") {
      write_slab(dataset.get(), start, count, block.step.data(), transfer.get());
    } else if (s.path == "configs/phi") {
      write_slab(dataset.get(), start, count, block.phi.data(), transfer.get());
    } else if (s.path == "records/Gc") {
      write_slab(dataset.get(), start, count, block.gc.data(), transfer.get());
    } else if (!s.tail.empty()) {
      write_slab(dataset.get(), start, count, block.vectors.at(s.path.substr(8)).data(), transfer.get());
    } else {
      write_slab(dataset.get(), start, count, block.scalars.at(s.path.substr(8)).data(), transfer.get());
    }
  }
  const std::int64_t slot = w.state_slot == 0 ? 1 : 0;
  {
    const Handle state = open_dataset(file, "state/phi");
    write_slab(state.get(), {static_cast<hsize_t>(slot), first, 0}, {1, local, w.state.extent(1)},
               block.state_phi.data(), transfer.get());
    std::vector<double> column(local);
    for (std::size_t k = 0; k < lay.state_values.size(); ++k) {
      for (std::size_t c = 0; c < local; ++c) column[c] = block.state_values(c, k);
      const Handle values = open_dataset(file, "state/" + lay.state_values[k]);
      write_slab(values.get(), {static_cast<hsize_t>(slot), first}, {1, local}, column.data(), transfer.get());
    }
  }
  flush(file);
  const std::int64_t n_complete = w.n_complete + block.n;
  write_commit(open_group(file, "configs").get(), n_complete, block.next_step, slot);
  flush(file);

  w.n_complete = n_complete;
  w.next_step = block.next_step;
  w.state_slot = slot;
  if (local > 0) Kokkos::deep_copy(w.state, block.state_phi);
  if (local > 0 && !lay.state_values.empty()) Kokkos::deep_copy(w.values, block.state_values);
}

void EnsembleWriter::close() {
  if (impl_ && impl_->file.valid()) {
    flush(impl_->file.get());
    impl_->file.close();
  }
}

Ensemble read_ensemble(const std::string& path, bool read_fields) {
  if (!file_exists(path)) throw InputError("ensemble file '" + path + "' does not exist");
  if (!is_hdf5_file(path)) throw InputError("'" + path + "' is not an HDF5 file, so not a phi4flow ensemble");
  Ensemble ens;
  try {
    const Handle file = open_file(path, false);
    ens.root = read_checked_format(file.get(), path, kFormat, kFormatVersion);
    const Stored stored = read_stored(file.get(), path);
    ens.L = stored.L;
    ens.n_chains = stored.n_chains;
    ens.n_records = stored.n_complete;
    ens.next_step = stored.next_step;
    ens.has_fields = stored.has_fields;
    ens.chain_ids = stored.chain_ids;
    AttrList* meta[] = {&ens.lattice, &ens.action, &ens.algorithm, &ens.rng};
    for (int g = 0; g < 4; ++g) *meta[g] = read_attrs(open_group(file.get(), kMetaGroups[g]).get());

    const auto chains = static_cast<std::size_t>(ens.n_chains);
    const auto records = static_cast<std::size_t>(ens.n_records);
    const auto l = static_cast<std::size_t>(ens.L);
    const auto alloc = [](const std::string& label) {
      return uninitialized("phi4flow::io::Ensemble::" + label);
    };
    ens.step = HostSteps(alloc("step"), chains, records);
    ens.gc = HostReals3(alloc("gc"), chains, records, l);
    if (ens.has_fields && read_fields) ens.phi = HostReals3(alloc("phi"), chains, records, l * l);
    for (const auto& name : stored.scalars) ens.scalars[name] = HostReals2(alloc(name), chains, records);
    for (const auto& name : stored.vectors) ens.vectors[name] = HostReals3(alloc(name), chains, records, l);

    for (const auto& s : series_of(ens.L, ens.has_fields && read_fields, stored.scalars, stored.vectors)) {
      const Handle dataset = open_dataset(file.get(), s.path);
      const std::vector<hsize_t> start(2 + s.tail.size(), 0);
      const auto count = with_records(s, chains, records);
      if (s.path == "configs/step")
        read_slab(dataset.get(), start, count, ens.step.data());
      else if (s.path == "configs/phi")
        read_slab(dataset.get(), start, count, ens.phi.data());
      else if (s.path == "records/Gc")
        read_slab(dataset.get(), start, count, ens.gc.data());
      else if (!s.tail.empty())
        read_slab(dataset.get(), start, count, ens.vectors.at(s.path.substr(8)).data());
      else
        read_slab(dataset.get(), start, count, ens.scalars.at(s.path.substr(8)).data());
    }
    if (read_fields && stored.state_slot >= 0) {
      const auto slot = static_cast<hsize_t>(stored.state_slot);
      ens.state_phi = HostReals2(alloc("state_phi"), chains, l * l);
      read_slab(open_dataset(file.get(), "state/phi").get(), {slot, 0, 0}, {1, chains, l * l}, ens.state_phi.data());
      const Handle state = open_group(file.get(), "state");
      for (const auto& name : link_names(state.get())) {
        if (name == "phi") continue;
        std::vector<double>& column = ens.state_values[name];
        column.resize(chains);
        read_slab(open_dataset(state.get(), name).get(), {slot, 0}, {1, chains}, column.data());
      }
    }
  } catch (const RuntimeError& e) {
    throw InputError("cannot read ensemble '" + path + "' (damaged or incomplete?): " + e.what());
  }
  return ens;
}

RecordBlock make_record_block(const EnsembleLayout& layout, int capacity) {
  const int chains = layout.local_chains, L = layout.L;
  RecordBlock block;
  block.step = HostSteps("step", chains, capacity);
  if (layout.store_fields) block.phi = HostReals3("phi", chains, capacity, L * L);
  for (const auto& name : layout.record_scalars) block.scalars[name] = HostReals2(name, chains, capacity);
  block.gc = HostReals3("gc", chains, capacity, L);
  for (const auto& name : layout.record_vectors) block.vectors[name] = HostReals3(name, chains, capacity, L);
  block.state_phi = HostReals2("state_phi", chains, L * L);
  block.state_values = HostReals2("state_values", chains, layout.state_values.size());
  return block;
}

RecordBlock leading_records(const RecordBlock& block) {
  const auto head = std::make_pair(0, block.n);
  RecordBlock out;
  out.n = block.n;
  out.step = HostSteps("step", block.step.extent(0), block.n);
  Kokkos::deep_copy(out.step, Kokkos::subview(block.step, Kokkos::ALL, head));
  const auto copy3 = [&](const HostReals3& from) {
    HostReals3 to(from.label(), from.extent(0), block.n, from.extent(2));
    Kokkos::deep_copy(to, Kokkos::subview(from, Kokkos::ALL, head, Kokkos::ALL));
    return to;
  };
  if (block.phi.size() > 0) out.phi = copy3(block.phi);
  out.gc = copy3(block.gc);
  for (const auto& [name, series] : block.vectors) out.vectors[name] = copy3(series);
  for (const auto& [name, series] : block.scalars) {
    out.scalars[name] = HostReals2(name, series.extent(0), block.n);
    Kokkos::deep_copy(out.scalars[name], Kokkos::subview(series, Kokkos::ALL, head));
  }
  out.state_phi = block.state_phi;
  out.state_values = block.state_values;
  out.next_step = block.next_step;
  return out;
}

}  // namespace phi4flow::io
