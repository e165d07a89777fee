// SHA-256 (FIPS 180-4) of a file or a byte string, so that an ensemble records exactly which checkpoint drew its
// proposals. Computed by OpenSSL's libcrypto (src/io/sha256.cpp); this header does not expose it.
#pragma once

#include <string>

namespace phi4flow::io {

/// \brief SHA-256 of `bytes` as 64 lowercase hexadecimal digits.
std::string sha256_hex(const std::string& bytes);

/// \brief SHA-256 of the file at `path` as 64 lowercase hexadecimal digits; InputError naming the path if it
/// cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace phi4flow::io
