// Exceptions that reach the user, and an always-on check for internal invariants.
#pragma once

#include <stdexcept>
#include <string>

namespace phi4flow {

/// Bad user input (input file, command line, a file given as input). The message names the key or path
/// and says what would fix it; the app prints it once and exits before any expensive work.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A failure of the environment at run time (I/O, MPI, HDF5 return codes).
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
[[noreturn]] void throw_check_failure(const char* expr, const char* file, int line, const std::string& msg);
}

}  // namespace phi4flow

/// Internal invariant that stays on in release builds: throws RuntimeError with file and line.
#define PHI4FLOW_CHECK(cond, msg)                                                           \
  do {                                                                                      \
    if (!(cond)) ::phi4flow::detail::throw_check_failure(#cond, __FILE__, __LINE__, (msg)); \
  } while (false)
