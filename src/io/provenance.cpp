// Provenance attributes for output files.
#include "phi4flow/io/provenance.hpp"

#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "phi4flow/version.hpp"

namespace phi4flow::io {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

AttrList provenance(const Input& input, int n_ranks) {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  AttrList attrs = {{"code", std::string("phi4flow")},     {"code_version", std::string(version_string)},
                    {"git_commit", std::string(git_hash)}, {"created", utc_now()},
                    {"host", std::string(host)},           {"mpi_ranks", static_cast<std::int64_t>(n_ranks)},
                    {"command_line", input.command_line},  {"input_file", input.config_path},
                    {"input_text", input.config_text}};
  if (const char* job = std::getenv("SLURM_JOB_ID")) attrs.emplace_back("slurm_job_id", std::string(job));
  return attrs;
}

}  // namespace phi4flow::io
