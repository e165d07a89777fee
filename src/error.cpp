// Failure reporting for PHI4FLOW_CHECK.
#include "phi4flow/error.hpp"

namespace phi4flow::detail {

void throw_check_failure(const char* expr, const char* file, int line, const std::string& msg) {
  throw RuntimeError(std::string(file) + ":" + std::to_string(line) + ": check '" + expr + "' failed: " + msg);
}

}  // namespace phi4flow::detail
