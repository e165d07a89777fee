// The checked HDF5 layer (src/io/hdf5.hpp, private to the library): attributes of every kind round-trip and
// are replaced, errors name the file, object, operation and HDF5's own message, and handles are move-only and
// close once. One process.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <type_traits>

#include "test_support.hpp"
#include "io/hdf5.hpp"
#include "phi4flow/error.hpp"

namespace io = phi4flow::io;
namespace fs = std::filesystem;
using phi4flow::test::TempDir;

TEST(Hdf5, AttributesOfEveryKindRoundTripAndReplace) {
  const TempDir dir;
  const std::string path = dir.file("attrs.h5");
  const io::AttrList attrs = {{"z_int", std::numeric_limits<std::int64_t>::max()},
                              {"a_real", -1.25e-300},
                              {"m_text", std::string("multi\nline \u03c6\u2074")},
                              {"empty", std::string()}};
  {
    const io::Handle file = io::create_file(path, false);
    const io::Handle group = io::create_group(file.get(), "g");
    io::write_attrs(group.get(), attrs);
    io::write_attr(group.get(), "kind_changes", std::int64_t{1});
    io::write_attr(group.get(), "kind_changes", std::string("now a string"));
    // A fixed-length, space-padded string, as other tools write them.
    const io::Handle type(H5Tcopy(H5T_C_S1));
    H5Tset_size(type.get(), 8);
    H5Tset_strpad(type.get(), H5T_STR_SPACEPAD);
    const io::Handle space(H5Screate(H5S_SCALAR));
    const io::Handle attr(H5Acreate2(group.get(), "fixed", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_GE(H5Awrite(attr.get(), type.get(), "abc     "), 0);
  }
  const io::Handle file = io::open_file(path, false);
  const io::AttrList back = io::read_attrs(io::open_group(file.get(), "g").get());
  io::AttrList expected = attrs;
  expected.emplace_back("kind_changes", std::string("now a string"));
  expected.emplace_back("fixed", std::string("abc"));
  EXPECT_EQ(back, expected);
}

TEST(Hdf5, ErrorsNameFileObjectOperationAndHdf5Message) {
  const TempDir dir;
  const std::string path = dir.file("errors.h5");
  const io::Handle file = io::create_file(path, false);
  const io::Handle group = io::create_group(file.get(), "configs");
  try {
    io::open_dataset(group.get(), "phi");
    FAIL() << "opening a missing dataset did not throw";
  } catch (const phi4flow::RuntimeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("open dataset 'phi'"), std::string::npos) << what;
    EXPECT_NE(what.find("'/configs'"), std::string::npos) << what;
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("H5Dopen2"), std::string::npos) << what;
  }
  try {
    io::create_file(path, false);
    FAIL() << "creating an existing file without truncation did not throw";
  } catch (const phi4flow::RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("create file '" + path + "'"), std::string::npos) << e.what();
  }
}

TEST(Hdf5, HandleIsMoveOnlyAndClosesOnce) {
  const TempDir dir;
  io::Handle file = io::create_file(dir.file("move.h5"), false);
  const hid_t id = file.get();
  io::Handle moved = std::move(file);
  EXPECT_FALSE(file.valid());
  EXPECT_EQ(moved.get(), id);
  moved.close();
  EXPECT_FALSE(moved.valid());
  EXPECT_GT(H5Iis_valid(id), -1);
  EXPECT_EQ(H5Iis_valid(id), 0);
  static_assert(!std::is_copy_constructible_v<io::Handle>);
}
