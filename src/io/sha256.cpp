// SHA-256 through OpenSSL's libcrypto (the EVP digest interface); files are hashed in blocks, not read whole.
#include "phi4flow/io/sha256.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "phi4flow/error.hpp"

namespace phi4flow::io {

namespace {

/// A SHA-256 computation in progress: update() with the bytes in order, then hex() once.
class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1)
      throw RuntimeError("OpenSSL: cannot start a SHA-256 digest");
  }

  void update(const char* bytes, std::size_t n) {
    if (n > 0 && EVP_DigestUpdate(context_.get(), bytes, n) != 1)
      throw RuntimeError("OpenSSL: SHA-256 digest update failed");
  }

  /// The digest as 64 lowercase hexadecimal digits.
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(context_.get(), digest.data(), &size) != 1 || size != 32)
      throw RuntimeError("OpenSSL: SHA-256 digest finalisation failed");
    char text[65];
    for (unsigned int i = 0; i < size; ++i) std::snprintf(text + 2 * i, 3, "%02x", digest[i]);
    return std::string(text, 64);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

}  // namespace

std::string sha256_hex(const std::string& bytes) {
  Sha256 digest;
  digest.update(bytes.data(), bytes.size());
  return digest.hex();
}

std::string sha256_file(const std::string& path) {
  const auto unreadable = [&] {
    return InputError("cannot read '" + path + "' to compute its SHA-256: check the path");
  };
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) throw unreadable();
  std::ifstream file(path, std::ios::binary);
  if (!file) throw unreadable();
  Sha256 digest;
  std::array<char, 1 << 16> block;
  do {
    file.read(block.data(), block.size());
    digest.update(block.data(), static_cast<std::size_t>(file.gcount()));
  } while (file);
  if (!file.eof()) throw unreadable();  // stopped by a read error, not by the end of the file
  return digest.hex();
}

}  // namespace phi4flow::io
