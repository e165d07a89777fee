// Training checkpoints (round trip, atomic replacement, truncated, corrupt and foreign files). One process. The
// checked HDF5 layer underneath them has its own tests, test_hdf5.cpp.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "phi4flow/error.hpp"
#include "phi4flow/io/checkpoint.hpp"
#include "test_support.hpp"
#include "io/hdf5.hpp"  // the private HDF5 wrapper: these tests inspect and damage checkpoint files

namespace io = phi4flow::io;
namespace fs = std::filesystem;
using phi4flow::test::TempDir;
using phi4flow::test::input_error_of;

namespace {

io::Checkpoint make_checkpoint(std::size_t n_parameters) {
  io::Checkpoint ckpt;
  ckpt.root = {{"code_version", std::string("0.1.0-test")}, {"created", std::string("2024-05-01T12:00:00Z")}};
  ckpt.model = {{"name", std::string("equivariant-flow")}, {"n_kernels", std::int64_t{4}}, {"t_end", 1.0}};
  ckpt.training = {{"learning_rate", 1e-3}, {"batch", std::int64_t{256}}};
  ckpt.rng = {{"generator", std::string("philox4x32-10")}, {"seed", std::int64_t{42}}};
  std::vector<double> parameters(n_parameters);
  for (std::size_t i = 0; i < n_parameters; ++i) parameters[i] = std::sin(0.1 * static_cast<double>(i)) / 3.0;
  parameters[0] = -0.0;
  parameters[1] = std::numeric_limits<double>::denorm_min();
  parameters[2] = std::numeric_limits<double>::quiet_NaN();
  ckpt.arrays["parameters"] = parameters;
  ckpt.arrays["adam_m"] = std::vector<double>(n_parameters, 1e-8);
  ckpt.arrays["adam_v"] = std::vector<double>(n_parameters, 2.5e-9);
  ckpt.arrays["empty"] = {};
  ckpt.counters = {{"step", std::int64_t{123456789012}}, {"epoch", std::int64_t{-1}}};
  return ckpt;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}


std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(Checkpoint, RoundTripBitExactAndNoTemporaryLeft) {
  const TempDir dir;
  const std::string path = dir.file("flow.ckpt.h5");
  const io::Checkpoint ckpt = make_checkpoint(70000);  // more than one chunk
  io::write_checkpoint(path, ckpt);
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  const io::Checkpoint back = io::read_checkpoint(path);
  EXPECT_EQ(back.root, ckpt.root);
  EXPECT_EQ(back.model, ckpt.model);
  EXPECT_EQ(back.training, ckpt.training);
  EXPECT_EQ(back.rng, ckpt.rng);
  EXPECT_EQ(back.counters, ckpt.counters);
  ASSERT_EQ(back.arrays.size(), ckpt.arrays.size());
  for (const auto& [name, values] : ckpt.arrays) EXPECT_TRUE(same_bits(back.arrays.at(name), values)) << name;
}

TEST(Checkpoint, ReplacesOldCheckpointAndStaleTemporary) {
  const TempDir dir;
  const std::string path = dir.file("flow.ckpt.h5");
  io::write_checkpoint(path, make_checkpoint(10));
  std::ofstream(path + ".tmp") << "left behind by a killed job";
  io::Checkpoint next = make_checkpoint(20);
  next.counters["step"] = 2000;
  io::write_checkpoint(path, next);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  const io::Checkpoint back = io::read_checkpoint(path);
  EXPECT_EQ(back.counters.at("step"), 2000);
  EXPECT_EQ(back.arrays.at("parameters").size(), 20u);
}

TEST(Checkpoint, FailedWriteLeavesNothing) {
  const TempDir dir;
  const std::string path = dir.file("no_such_dir/flow.ckpt.h5");
  EXPECT_THROW(io::write_checkpoint(path, make_checkpoint(10)), phi4flow::RuntimeError);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_FALSE(fs::exists(path));
}

TEST(Checkpoint, MissingTruncatedForeignAndCorruptFilesAreInputErrors) {
  const TempDir dir;
  const std::string good = dir.file("good.h5");
  io::write_checkpoint(good, make_checkpoint(5000));

  const std::string missing = input_error_of([&] { io::read_checkpoint(dir.file("absent.h5")); });
  EXPECT_NE(missing.find("absent.h5"), std::string::npos) << missing;
  EXPECT_NE(missing.find("does not exist"), std::string::npos) << missing;

  const std::string truncated_path = dir.file("truncated.h5");
  const std::string bytes = contents(good);
  std::ofstream(truncated_path, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  const std::string truncated = input_error_of([&] { io::read_checkpoint(truncated_path); });
  EXPECT_NE(truncated.find(truncated_path), std::string::npos) << truncated;
  EXPECT_NE(truncated.find("truncated or corrupt"), std::string::npos) << truncated;

  const std::string text_path = dir.file("notes.txt");
  std::ofstream(text_path) << "step = 10\n";
  const std::string text = input_error_of([&] { io::read_checkpoint(text_path); });
  EXPECT_NE(text.find("not an HDF5 file"), std::string::npos) << text;

  const std::string foreign_path = dir.file("foreign.h5");
  io::create_group(io::create_file(foreign_path, false).get(), "weights");
  const std::string foreign = input_error_of([&] { io::read_checkpoint(foreign_path); });
  EXPECT_NE(foreign.find(foreign_path), std::string::npos) << foreign;
  EXPECT_NE(foreign.find("not a phi4flow-checkpoint"), std::string::npos) << foreign;

  // Flip one byte inside the parameters' stored data: the Fletcher-32 checksum must catch it.
  const std::string corrupt_path = dir.file("corrupt.h5");
  haddr_t address = 0;
  hsize_t size = 0;
  {
    const io::Handle file = io::open_file(good, false);
    const io::Handle dataset = io::open_dataset(file.get(), "arrays/parameters");
    const hsize_t origin[1] = {0};
    unsigned mask = 0;
    io::checked(dataset.get(), "get chunk info",
                [&] { return H5Dget_chunk_info_by_coord(dataset.get(), origin, &mask, &address, &size); });
  }
  ASSERT_GT(size, 100u);
  std::string flipped = bytes;
  flipped[address + size / 2] = static_cast<char>(flipped[address + size / 2] ^ 0x10);
  std::ofstream(corrupt_path, std::ios::binary) << flipped;
  const std::string corrupt = input_error_of([&] { io::read_checkpoint(corrupt_path); });
  EXPECT_NE(corrupt.find("truncated or corrupt"), std::string::npos) << corrupt;
}
