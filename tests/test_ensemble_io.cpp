// The ensemble file: round trips on 1 and 2 ranks, resuming after a kill inside a block, layout checks,
// and the reader's errors for files that are not ensembles. Run at 1, 2 and 3 ranks; a writer on n ranks with
// an uneven split of the chains (4 over 3: 2, 1, 1) writes the file a writer on one rank writes.
#include <gtest/gtest.h>
#include <mpi.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "phi4flow/error.hpp"
#include "phi4flow/io/ensemble.hpp"
#include "phi4flow/io/ensemble_merge.hpp"
#include "test_support.hpp"
#include "io/hdf5.hpp"  // the private HDF5 wrapper: these tests inspect and damage files

namespace io = phi4flow::io;
namespace fs = std::filesystem;

using phi4flow::test::input_error_of;

namespace {
const phi4flow::Communicator& world() {
  static const phi4flow::Communicator all = phi4flow::Communicator::world();
  return all;
}
}  // namespace

namespace {

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int world_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

// A fresh directory made by rank 0, known to every rank, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string name;
    if (world_rank() == 0) {
      std::string pattern = (fs::temp_directory_path() / "phi4flow_io_XXXXXX").string();
      if (mkdtemp(pattern.data())) name = pattern;
    }
    int size = static_cast<int>(name.size());
    MPI_Bcast(&size, 1, MPI_INT, 0, MPI_COMM_WORLD);
    name.resize(static_cast<std::size_t>(size));
    MPI_Bcast(name.data(), size, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (name.empty()) throw std::runtime_error("cannot make a temporary directory");
    path_ = name;
  }
  ~TempDir() {
    MPI_Barrier(MPI_COMM_WORLD);
    std::error_code ignored;
    if (world_rank() == 0) fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// Rank r of n owns a contiguous, as-even-as-possible share of the chains (possibly none).
void split_chains(io::EnsembleLayout& layout) {
  const int rank = world_rank(), size = world_size();
  const int base = layout.n_chains / size, extra = layout.n_chains % size;
  layout.first_chain = rank * base + std::min(rank, extra);
  layout.local_chains = base + (rank < extra ? 1 : 0);
}

io::EnsembleLayout make_layout(int L, int n_chains, bool store_fields = true) {
  io::EnsembleLayout layout;
  layout.L = L;
  layout.n_chains = n_chains;
  layout.store_fields = store_fields;
  layout.record_scalars = {"M", "abs_M", "dH"};
  layout.root = {{"code_version", std::string("0.1.0-test")},
                 {"input", std::string("[lattice]\nL = 4\n# caf\u00e9 \u03c6\u2074\n")},
                 {"empty", std::string()},
                 {"n_ranks", std::int64_t{world_size()}},
                 {"most_negative", std::numeric_limits<std::int64_t>::min()},
                 {"tiny", 4.9406564584124654e-324},
                 {"third", 1.0 / 3.0},
                 {"negative_zero", -0.0}};
  layout.lattice = {
      {"L", std::int64_t{L}}, {"boundary", std::string("periodic")}, {"site_layout", std::string("s = x1 * L + x2")}};
  layout.action = {{"name", std::string("phi4")}, {"m2", -4.0}, {"lam", 8.0}};
  layout.algorithm = {{"name", std::string("hmc")}, {"n_md", std::int64_t{10}}, {"tau", 1.0}};
  layout.rng = {{"generator", std::string("philox4x32-10")}, {"seed", std::int64_t{1234}}};
  split_chains(layout);
  return layout;
}

// The value every test writes and expects for (quantity, global chain, step, index): distinct bits everywhere.
double value(int quantity, int chain, std::int64_t step, int i) {
  return quantity * 1e6 + chain * 1e3 + static_cast<double>(step) + std::sin(0.37 * i + 1.1 * chain + 0.01 * step);
}

constexpr int kState = 99;

// The global id of local chain lc: the value every record of it carries.
int chain_id(const io::EnsembleLayout& layout, int lc) {
  const int index = layout.first_chain + lc;
  return layout.chain_ids.empty() ? index : static_cast<int>(layout.chain_ids[static_cast<std::size_t>(index)]);
}

io::RecordBlock make_block(const io::EnsembleLayout& layout, int n, std::int64_t first_step) {
  const int c = layout.local_chains, V = layout.L * layout.L, L = layout.L;
  io::RecordBlock block;
  block.n = n;
  block.step = io::HostSteps("step", c, n);
  block.phi = io::HostReals3("phi", c, n, V);
  block.gc = io::HostReals3("gc", c, n, L);
  block.state_phi = io::HostReals2("state", c, V);
  for (std::size_t k = 0; k < layout.record_scalars.size(); ++k) {
    io::HostReals2 series(layout.record_scalars[k], c, n);
    for (int lc = 0; lc < c; ++lc)
      for (int r = 0; r < n; ++r)
        series(lc, r) = value(1 + static_cast<int>(k), chain_id(layout, lc), first_step + r, 0);
    block.scalars[layout.record_scalars[k]] = series;
  }
  for (int lc = 0; lc < c; ++lc) {
    const int chain = chain_id(layout, lc);
    for (int r = 0; r < n; ++r) {
      block.step(lc, r) = first_step + r;
      for (int s = 0; s < V; ++s) block.phi(lc, r, s) = value(0, chain, first_step + r, s);
      for (int t = 0; t < L; ++t) block.gc(lc, r, t) = value(10, chain, first_step + r, t);
    }
    for (int s = 0; s < V; ++s) block.state_phi(lc, s) = value(kState, chain, first_step + n, s);
  }
  block.next_step = first_step + n;
  return block;
}

// Every record of every chain is the one written for its index: steps 0, 1, 2, ... and the data for that step.
void expect_records(const io::Ensemble& ens, const io::EnsembleLayout& layout, std::int64_t n_records) {
  ASSERT_EQ(ens.n_records, n_records);
  ASSERT_EQ(ens.n_chains, layout.n_chains);
  ASSERT_EQ(ens.L, layout.L);
  ASSERT_EQ(ens.has_fields, layout.store_fields);
  ASSERT_EQ(ens.step.extent(0), static_cast<std::size_t>(layout.n_chains));
  ASSERT_EQ(ens.step.extent(1), static_cast<std::size_t>(n_records));
  ASSERT_EQ(ens.scalars.size(), layout.record_scalars.size());
  const bool fields = ens.phi.size() > 0;
  long bad = 0;
  for (int chain = 0; chain < layout.n_chains; ++chain)
    for (std::int64_t r = 0; r < n_records; ++r) {
      bad += ens.step(chain, r) != r;
      for (std::size_t k = 0; k < layout.record_scalars.size(); ++k)
        bad += ens.scalars.at(layout.record_scalars[k])(chain, r) != value(1 + static_cast<int>(k), chain, r, 0);
      for (int t = 0; t < layout.L; ++t) bad += ens.gc(chain, r, t) != value(10, chain, r, t);
      if (fields)
        for (int s = 0; s < layout.L * layout.L; ++s) bad += ens.phi(chain, r, s) != value(0, chain, r, s);
    }
  EXPECT_EQ(bad, 0) << "records that differ from what was written";
}

// Bit-exact comparison: -0.0 differs from 0.0, and the order of attributes counts.
void expect_same_attrs(const io::AttrList& got, const io::AttrList& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first);
    ASSERT_EQ(got[i].second.index(), want[i].second.index()) << got[i].first;
    if (const auto* x = std::get_if<double>(&want[i].second)) {
      EXPECT_EQ(std::signbit(std::get<double>(got[i].second)), std::signbit(*x)) << got[i].first;
    }
    EXPECT_TRUE(got[i].second == want[i].second) << got[i].first;
  }
}

void write_ensemble(const std::string& path, const io::EnsembleLayout& layout, const std::vector<int>& blocks,
                    const phi4flow::Communicator& comm = world()) {
  auto writer = io::EnsembleWriter::create(comm, path, layout, false);
  std::int64_t step = 0;
  for (const int n : blocks) {
    writer.append(make_block(layout, n, step));
    step += n;
  }
  writer.close();
}

// Everything an ensemble file holds: every dataset of /configs, /records and /state read whole (as doubles,
// which the step numbers are exactly), and the attributes of the root and of every group.
struct FileContents {
  std::map<std::string, std::vector<double>> data;
  std::map<std::string, std::vector<hsize_t>> dims;
  std::map<std::string, io::AttrList> attrs;
};

FileContents file_contents(const std::string& path) {
  FileContents contents;
  const io::Handle file = io::open_file(path, false);
  contents.attrs["/"] = io::read_attrs(file.get());
  for (const std::string group_name : {"lattice", "action", "algorithm", "rng", "configs", "records", "state"}) {
    if (!io::link_exists(file.get(), group_name)) continue;
    const io::Handle group = io::open_group(file.get(), group_name);
    contents.attrs[group_name] = io::read_attrs(group.get());
    if (group_name != "configs" && group_name != "records" && group_name != "state") continue;
    for (const std::string& name : io::link_names(group.get())) {
      const std::string key = group_name + "/" + name;
      const io::Handle dataset = io::open_dataset(file.get(), key);
      const auto dims = io::extent(dataset.get());
      std::size_t n = 1;
      for (const auto d : dims) n *= d;
      std::vector<double> values(n);
      if (n > 0) io::read_slab(dataset.get(), std::vector<hsize_t>(dims.size(), 0), dims, values.data());
      contents.data[key] = values;
      contents.dims[key] = dims;
    }
  }
  return contents;
}

// The layout of make_layout on one process: all chains on it.
io::EnsembleLayout whole_layout(io::EnsembleLayout layout) {
  layout.first_chain = 0;
  layout.local_chains = layout.n_chains;
  return layout;
}

}  // namespace

TEST(EnsembleIO, UnevenSplitWritesWhatOneRankWrites) {
  const TempDir dir;
  const std::string distributed = dir.file("distributed.h5"), single = dir.file("single.h5");
  const auto layout = make_layout(4, 4);  // 3 ranks: chains [0, 2), [2, 3), [3, 4)
  if (world_size() == 3) {
    const int first[] = {0, 2, 3}, local[] = {2, 1, 1};
    ASSERT_EQ(layout.first_chain, first[world_rank()]);
    ASSERT_EQ(layout.local_chains, local[world_rank()]);
  }
  const std::vector<int> blocks = {2, 3, 1};
  if (world_rank() == 0) write_ensemble(single, whole_layout(layout), blocks, phi4flow::Communicator::self());  // the reference
  MPI_Barrier(MPI_COMM_WORLD);
  write_ensemble(distributed, layout, blocks);
  expect_records(io::read_ensemble(distributed), layout, 6);

  const FileContents a = file_contents(distributed), b = file_contents(single);
  ASSERT_EQ(a.data.size(), b.data.size());
  for (const auto& [name, values] : b.data) {
    ASSERT_EQ(a.data.count(name), 1u) << name << " is missing from the file of " << world_size() << " ranks";
    EXPECT_EQ(a.dims.at(name), b.dims.at(name)) << name;
    long differ = 0;
    const auto& got = a.data.at(name);
    for (std::size_t i = 0; i < std::min(got.size(), values.size()); ++i)
      differ += std::memcmp(&got[i], &values[i], sizeof(double)) != 0;
    EXPECT_EQ(differ, 0) << name << ": values that differ from the one-rank writer's";
  }
  ASSERT_EQ(a.attrs.size(), b.attrs.size());
  for (const auto& [group, attrs] : b.attrs) {
    SCOPED_TRACE("attributes of " + group);
    expect_same_attrs(a.attrs.at(group), attrs);
  }
}

TEST(EnsembleIO, RoundTripBitExact) {
  const TempDir dir;
  const std::string path = dir.file("ens.h5");
  const auto layout = make_layout(4, 3);
  write_ensemble(path, layout, {2, 3, 1});

  const io::Ensemble ens = io::read_ensemble(path);
  expect_records(ens, layout, 6);
  ASSERT_EQ(ens.phi.extent(2), 16u);
  expect_same_attrs(ens.root, layout.root);
  expect_same_attrs(ens.lattice, layout.lattice);
  expect_same_attrs(ens.action, layout.action);
  expect_same_attrs(ens.algorithm, layout.algorithm);
  expect_same_attrs(ens.rng, layout.rng);

  const io::Ensemble light = io::read_ensemble(path, false);
  EXPECT_TRUE(light.has_fields);
  EXPECT_EQ(light.phi.size(), 0u);
  expect_records(light, layout, 6);
}

TEST(EnsembleIO, WithoutFieldsAndWithIdleRanks) {
  const TempDir dir;
  const std::string path = dir.file("ens.h5");
  const auto layout = make_layout(3, 1, false);  // on 2 ranks, rank 1 owns no chain
  write_ensemble(path, layout, {4, 0, 2});
  const io::Ensemble ens = io::read_ensemble(path);
  EXPECT_FALSE(ens.has_fields);
  EXPECT_EQ(ens.phi.size(), 0u);
  expect_records(ens, layout, 6);
}

TEST(EnsembleIO, StateAndNextStepAfterAppend) {
  const TempDir dir;
  const auto layout = make_layout(4, 3);
  auto writer = io::EnsembleWriter::create(world(), dir.file("ens.h5"), layout, false);
  EXPECT_FALSE(writer.has_state());
  EXPECT_EQ(writer.records_complete(), 0);
  EXPECT_EQ(writer.next_step(), 0);
  writer.append(make_block(layout, 5, 0));
  EXPECT_TRUE(writer.has_state());
  EXPECT_EQ(writer.records_complete(), 5);
  EXPECT_EQ(writer.next_step(), 5);
  writer.close();
}

// A job killed after its records and state reached the disk but before the commit, with junk beyond the
// committed records, must resume from the last commit: nothing lost, nothing twice, the exact state.
TEST(EnsembleIO, ResumeAfterKillInsideBlock) {
  const TempDir dir;
  const std::string path = dir.file("ens.h5");
  const auto layout = make_layout(4, 3);
  write_ensemble(path, layout, {3, 3});

  io::AttrList commit;
  if (world_rank() == 0) {
    const io::Handle file = io::open_file(path, false);
    commit = io::read_attrs(io::open_group(file.get(), "configs").get());
  }
  MPI_Barrier(MPI_COMM_WORLD);
  {
    auto writer = io::EnsembleWriter::resume(world(), path, layout);
    writer.append(make_block(layout, 3, 6));
    writer.close();
  }
  if (world_rank() == 0) {  // the kill: the last commit undone, junk appended behind it
    const io::Handle file = io::open_file(path, true);
    io::write_attrs(io::open_group(file.get(), "configs").get(), commit);
    for (const std::string name :
         {"configs/step", "configs/phi", "records/M", "records/abs_M", "records/dH", "records/Gc"}) {
      const io::Handle dataset = io::open_dataset(file.get(), name);
      auto dims = io::extent(dataset.get());
      auto start = std::vector<hsize_t>(dims.size(), 0), count = dims;
      start[1] = dims[1];
      count[1] = 2;
      dims[1] += 2;
      io::set_extent(dataset.get(), dims);
      std::size_t n = 1;
      for (const auto c : count) n *= c;
      if (name == "configs/step") {
        const std::vector<std::int64_t> junk(n, -7);
        io::write_slab(dataset.get(), start, count, junk.data());
      } else {
        const std::vector<double> junk(n, -7.0);
        io::write_slab(dataset.get(), start, count, junk.data());
      }
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);

  auto writer = io::EnsembleWriter::resume(world(), path, layout);
  EXPECT_EQ(writer.records_complete(), 6);
  EXPECT_EQ(writer.next_step(), 6);
  ASSERT_TRUE(writer.has_state());
  const auto state = writer.state_phi();
  ASSERT_EQ(state.extent(0), static_cast<std::size_t>(layout.local_chains));
  ASSERT_EQ(state.extent(1), 16u);
  long bad = 0;
  for (int lc = 0; lc < layout.local_chains; ++lc)
    for (int s = 0; s < 16; ++s) bad += state(lc, s) != value(kState, layout.first_chain + lc, 6, s);
  EXPECT_EQ(bad, 0) << "restored state differs from the state after the last committed block";
  writer.append(make_block(layout, 3, 6));
  writer.append(make_block(layout, 1, 9));
  writer.close();
  expect_records(io::read_ensemble(path), layout, 10);
}

TEST(EnsembleIO, ResumeRejectsOtherLayouts) {
  const TempDir dir;
  const std::string path = dir.file("ens.h5");
  write_ensemble(path, make_layout(4, 3), {2});
  const auto resume_error = [&](const io::EnsembleLayout& layout) {
    return input_error_of([&] { io::EnsembleWriter::resume(world(), path, layout); });
  };
  const auto other_L = make_layout(6, 3);
  EXPECT_NE(resume_error(other_L).find("L = 4 in the file but 6"), std::string::npos) << resume_error(other_L);
  EXPECT_NE(resume_error(other_L).find(path), std::string::npos);
  const std::string chains = resume_error(make_layout(4, 5));
  EXPECT_NE(chains.find("n_chains = 3 in the file but 5"), std::string::npos) << chains;
  auto names = make_layout(4, 3);
  names.record_scalars = {"M", "dH", "S_per_site"};
  const std::string series = resume_error(names);
  EXPECT_NE(series.find("record series {M, abs_M, dH} in the file but {M, S_per_site, dH}"), std::string::npos)
      << series;
  const std::string fields = resume_error(make_layout(4, 3, false));
  EXPECT_NE(fields.find("store_fields"), std::string::npos) << fields;
  auto coupling = make_layout(4, 3);
  coupling.action = {{"m2", -3.5}};
  const std::string m2 = resume_error(coupling);
  EXPECT_NE(m2.find("'m2' is -4 in the file but -3.5"), std::string::npos) << m2;
  const std::string missing =
      input_error_of([&] { io::EnsembleWriter::resume(world(), dir.file("absent.h5"), make_layout(4, 3)); });
  EXPECT_NE(missing.find("absent.h5"), std::string::npos) << missing;

  auto same = make_layout(4, 3);
  same.root = {{"resumed_by", std::string("another host")}};  // provenance may differ
  auto writer = io::EnsembleWriter::resume(world(), path, same);
  EXPECT_EQ(writer.records_complete(), 2);
  writer.close();
}

// Series of L numbers besides Gc (a sampler's proposal_Gc) and per-chain state values (a flow chain's log weight)
// round-trip bit for bit, come back on resume, and a resume that needs values the file lacks is refused.
TEST(EnsembleIO, VectorSeriesAndStateValues) {
  const TempDir dir;
  const std::string path = dir.file("ens.h5");
  auto layout = make_layout(4, 3);
  layout.record_vectors = {"proposal_Gc"};
  layout.state_values = {"log_q", "log_w"};
  const auto block_of = [&](int n, std::int64_t first_step) {
    io::RecordBlock block = make_block(layout, n, first_step);
    io::HostReals3 vector("proposal_Gc", layout.local_chains, n, layout.L);
    block.state_values = io::HostReals2("values", layout.local_chains, 2);
    for (int lc = 0; lc < layout.local_chains; ++lc) {
      const int chain = layout.first_chain + lc;
      for (int r = 0; r < n; ++r)
        for (int t = 0; t < layout.L; ++t) vector(lc, r, t) = value(20, chain, first_step + r, t);
      for (int k = 0; k < 2; ++k) block.state_values(lc, k) = value(30 + k, chain, first_step + n, 0);
    }
    block.vectors["proposal_Gc"] = vector;
    return block;
  };
  {
    auto writer = io::EnsembleWriter::create(world(), path, layout, false);
    writer.append(block_of(2, 0));
    writer.append(block_of(3, 2));
    writer.close();
  }
  const io::Ensemble ens = io::read_ensemble(path);
  expect_records(ens, layout, 5);
  ASSERT_EQ(ens.vectors.count("proposal_Gc"), 1u);
  long bad = 0;
  for (int chain = 0; chain < layout.n_chains; ++chain)
    for (int r = 0; r < 5; ++r)
      for (int t = 0; t < layout.L; ++t) bad += ens.vectors.at("proposal_Gc")(chain, r, t) != value(20, chain, r, t);
  EXPECT_EQ(bad, 0);

  auto writer = io::EnsembleWriter::resume(world(), path, layout);
  const io::HostReals2 values = writer.state_values();
  for (int lc = 0; lc < layout.local_chains; ++lc)
    for (int k = 0; k < 2; ++k) EXPECT_EQ(values(lc, k), value(30 + k, layout.first_chain + lc, 5, 0));
  writer.close();

  auto more = layout;
  more.state_values = {"log_q", "log_w", "S"};
  const std::string missing = input_error_of([&] { io::EnsembleWriter::resume(world(), path, more); });
  EXPECT_NE(missing.find("/state/S"), std::string::npos) << missing;
  auto fewer = layout;
  fewer.record_vectors = {};
  const std::string vectors = input_error_of([&] { io::EnsembleWriter::resume(world(), path, fewer); });
  EXPECT_NE(vectors.find("proposal_Gc"), std::string::npos) << vectors;
}

TEST(EnsembleIO, CreateRefusesExistingFileUnlessOverwrite) {
  const TempDir dir;
  const std::string path = dir.file("ens.h5");
  const auto layout = make_layout(4, 3);
  write_ensemble(path, layout, {2});
  const std::string error = input_error_of([&] { io::EnsembleWriter::create(world(), path, layout, false); });
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_EQ(io::read_ensemble(path).n_records, 2) << "a refused create must leave the file alone";
  io::EnsembleWriter::create(world(), path, layout, true).close();
  EXPECT_EQ(io::read_ensemble(path).n_records, 0);
}

// A malformed block on one rank must make every rank throw, not leave the others in a collective call.
TEST(EnsembleIO, BadBlockThrowsOnEveryRank) {
  const TempDir dir;
  const auto layout = make_layout(4, 3);
  auto writer = io::EnsembleWriter::create(world(), dir.file("ens.h5"), layout, false);
  auto block = make_block(layout, 2, 0);
  if (world_rank() == 0) block.scalars.erase("dH");
  EXPECT_THROW(writer.append(block), phi4flow::RuntimeError);
  writer.append(make_block(layout, 2, 0));
  EXPECT_EQ(writer.records_complete(), 2);
  writer.close();
}

TEST(EnsembleIO, ReaderRejectsWhatIsNotAnEnsemble) {
  const TempDir dir;
  const std::string text = dir.file("notes.txt"), other = dir.file("other.h5"), foreign = dir.file("foreign.h5");
  if (world_rank() == 0) {
    std::ofstream(text) << "not HDF5\n";
    io::create_group(io::create_file(other, false).get(), "data");
    const io::Handle file = io::create_file(foreign, false);
    io::write_attr(file.get(), "format", std::string("phi4flow-checkpoint"));
    io::write_attr(file.get(), "format_version", std::int64_t{1});
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const std::string missing = input_error_of([&] { io::read_ensemble(dir.file("absent.h5")); });
  EXPECT_NE(missing.find("absent.h5"), std::string::npos) << missing;
  EXPECT_NE(missing.find("does not exist"), std::string::npos) << missing;
  const std::string not_hdf5 = input_error_of([&] { io::read_ensemble(text); });
  EXPECT_NE(not_hdf5.find("not an HDF5 file"), std::string::npos) << not_hdf5;
  const std::string not_ensemble = input_error_of([&] { io::read_ensemble(other); });
  EXPECT_NE(not_ensemble.find(other), std::string::npos) << not_ensemble;
  EXPECT_NE(not_ensemble.find("not a phi4flow-ensemble"), std::string::npos) << not_ensemble;
  const std::string wrong = input_error_of([&] { io::read_ensemble(foreign); });
  EXPECT_NE(wrong.find("is a 'phi4flow-checkpoint' file"), std::string::npos) << wrong;
}

// Global chain ids (run.first_chain) are stored, read back, and checked on resume: a task of a job array cannot
// continue another task's chains. The committed state reads back with the records.
TEST(EnsembleIO, ChainIdsAndStateReadBack) {
  const TempDir dir;
  const std::string path = dir.file("ens.h5");
  auto layout = make_layout(4, 3);
  layout.chain_ids = {10, 11, 12};
  write_ensemble(path, layout, {2, 3});
  const io::Ensemble ens = io::read_ensemble(path);
  EXPECT_EQ(ens.chain_ids, (std::vector<std::int64_t>{10, 11, 12}));
  EXPECT_EQ(ens.next_step, 5);
  ASSERT_EQ(ens.state_phi.extent(0), 3u);
  long bad = 0;
  for (int c = 0; c < 3; ++c)
    for (int s = 0; s < 16; ++s) bad += ens.state_phi(c, s) != value(kState, 10 + c, 5, s);
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(io::read_ensemble(path, false).state_phi.size(), 0u) << "the state comes with the fields only";

  const std::string other = input_error_of([&] { io::EnsembleWriter::resume(world(), path, make_layout(4, 3)); });
  EXPECT_NE(other.find("it holds the chains 10 .. 12, this run continues 0 .. 2"), std::string::npos) << other;
  EXPECT_NE(other.find("run.first_chain"), std::string::npos) << other;
  io::EnsembleWriter::resume(world(), path, layout).close();
  auto repeated = make_layout(4, 3);
  repeated.chain_ids = {1, 1, 2};
  EXPECT_THROW(io::EnsembleWriter::create(world(), dir.file("bad.h5"), repeated, false), phi4flow::RuntimeError);
}

// Two tasks' files (chains 3, 4 and 0, 1, 2, given in that order) join into the file one run of chains 0 .. 4
// writes: the same records, state and attributes, in order of chain id. Files of other runs are refused.
TEST(EnsembleIO, MergeJoinsDisjointChainsInIdOrder) {
  const TempDir dir;
  const std::string upper = dir.file("upper.h5"), lower = dir.file("lower.h5"), joined = dir.file("joined.h5");
  auto upper_layout = make_layout(4, 2);
  upper_layout.chain_ids = {3, 4};
  upper_layout.algorithm.emplace_back("chains_per_rank", std::int64_t{2});  // may differ between the tasks
  auto lower_layout = make_layout(4, 3);
  lower_layout.chain_ids = {0, 1, 2};
  lower_layout.algorithm.emplace_back("chains_per_rank", std::int64_t{3});
  write_ensemble(upper, upper_layout, {2, 2});
  write_ensemble(lower, lower_layout, {4});
  auto short_layout = lower_layout;
  short_layout.chain_ids = {5, 6, 7};
  write_ensemble(dir.file("short.h5"), short_layout, {3});
  auto other_layout = lower_layout;
  other_layout.chain_ids = {5, 6, 7};
  other_layout.action = {{"name", std::string("phi4")}, {"m2", -4.0}, {"lam", 8.5}};
  write_ensemble(dir.file("other.h5"), other_layout, {4});
  if (world_rank() == 0) {
    io::merge_ensembles({upper, lower}, joined, false);
    const io::Ensemble ens = io::read_ensemble(joined);
    EXPECT_EQ(ens.chain_ids, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
    expect_records(ens, whole_layout(make_layout(4, 5)), 4);
    long bad = 0;
    for (int c = 0; c < 5; ++c)
      for (int s = 0; s < 16; ++s) bad += ens.state_phi(c, s) != value(kState, c, 4, s);
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(ens.next_step, 4);
    EXPECT_TRUE(io::find_attr(ens.action, "lam", "") == io::AttrValue(8.0));
    EXPECT_NE(io::attr_string(ens.root, "merged_from", "/").find("upper.h5 (2 chains)"), std::string::npos);

    const auto merge_error = [&](const std::vector<std::string>& inputs, const std::string& output) {
      return input_error_of([&] { io::merge_ensembles(inputs, output, false); });
    };
    const std::string overlap = merge_error({lower, joined}, dir.file("x.h5"));
    EXPECT_NE(overlap.find("chain 0 is in both"), std::string::npos) << overlap;
    const std::string coupling = merge_error({lower, dir.file("other.h5")}, dir.file("x.h5"));
    EXPECT_NE(coupling.find("/action attribute 'lam' is 8.5 in"), std::string::npos) << coupling;
    const std::string shorter = merge_error({lower, dir.file("short.h5")}, dir.file("x.h5"));
    EXPECT_NE(shorter.find("3 and 4 complete records per chain"), std::string::npos) << shorter;
    const std::string exists = merge_error({upper, lower}, joined);
    EXPECT_NE(exists.find("already exists"), std::string::npos) << exists;
    const std::string self = merge_error({upper, joined}, joined);
    EXPECT_NE(self.find("is also an input"), std::string::npos) << self;
    EXPECT_FALSE(fs::exists(dir.file("x.h5"))) << "a refused merge writes nothing";
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(EnsembleIO, AttributeLookups) {
  const io::AttrList attrs = {{"L", std::int64_t{8}}, {"m2", -4.0}, {"name", std::string("phi4")}};
  EXPECT_EQ(io::attr_int(attrs, "L", "/lattice"), 8);
  EXPECT_EQ(io::attr_real(attrs, "L", "/lattice"), 8.0);
  EXPECT_EQ(io::attr_real(attrs, "m2", "/action"), -4.0);
  EXPECT_EQ(io::attr_string(attrs, "name", "/action"), "phi4");
  const std::string missing = input_error_of([&] { io::attr_int(attrs, "seed", "/rng of 'x.h5'"); });
  EXPECT_NE(missing.find("'seed' is missing from /rng of 'x.h5'"), std::string::npos) << missing;
  const std::string type = input_error_of([&] { io::attr_int(attrs, "name", "/action"); });
  EXPECT_NE(type.find("expected an integer"), std::string::npos) << type;
}
