// SHA-256 (io/sha256.hpp, through OpenSSL's libcrypto), which identifies the checkpoint an ensemble was drawn from:
// the FIPS 180-4 / NIST known answers, a file's digest against sha256sum, and an unreadable file as an InputError.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "phi4flow/error.hpp"
#include "phi4flow/io/sha256.hpp"

using namespace phi4flow;
namespace fs = std::filesystem;

namespace {

/// A file in a fresh temporary directory, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& name) {
    std::string pattern = (fs::temp_directory_path() / "phi4flow_sha256_XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot make a temporary directory");
    dir_ = pattern;
    path_ = (dir_ / name).string();
  }
  ~TempFile() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  fs::path dir_;
  std::string path_;
};

/// The first word of a command's output (sha256sum prints "<digest>  <path>").
std::string first_word_of(const std::string& command) {
  std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(command.c_str(), "r"), &pclose);
  if (!pipe) return "(popen failed)";
  char buffer[256] = {};
  const std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, pipe.get());
  const std::string out(buffer, n);
  return out.substr(0, out.find_first_of(" \n"));
}

}  // namespace

TEST(Sha256, FipsTestVectors) {
  EXPECT_EQ(io::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(io::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(io::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(io::sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, BytesWithZerosAndHighBitsCount) {
  const std::string bytes("a\0b\xff", 4);
  EXPECT_EQ(io::sha256_hex(bytes).size(), 64u);
  EXPECT_NE(io::sha256_hex(bytes), io::sha256_hex("a"));
  EXPECT_NE(io::sha256_hex(bytes), io::sha256_hex(std::string("a\0b", 3)));
}

TEST(Sha256, FileDigestEqualsSha256sum) {
  const TempFile empty("empty.bin");
  std::ofstream(empty.path(), std::ios::binary).close();
  EXPECT_EQ(io::sha256_file(empty.path()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  // Larger than one read block (64 KiB) and not a multiple of it, with every byte value.
  const TempFile file("checkpoint.h5");
  std::string bytes;
  for (int i = 0; i < 200003; ++i) bytes += static_cast<char>((i * 131 + i / 7) & 0xff);
  std::ofstream(file.path(), std::ios::binary) << bytes;
  const std::string digest = io::sha256_file(file.path());
  EXPECT_EQ(digest, io::sha256_hex(bytes));
  EXPECT_EQ(digest, first_word_of("sha256sum '" + file.path() + "'"));
}

TEST(Sha256, MissingFileIsAnInputError) {
  EXPECT_THROW(io::sha256_file("/nonexistent/phi4flow/checkpoint.h5"), InputError);
  try {
    io::sha256_file("/nonexistent/phi4flow/checkpoint.h5");
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/phi4flow/checkpoint.h5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(io::sha256_file(fs::temp_directory_path().string()), InputError);
}
