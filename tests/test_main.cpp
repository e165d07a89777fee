// The one test main: MPI, then Kokkos, then the tests. Rank 0 prints GoogleTest's report; every other rank
// prints only its failures, each line prefixed with its rank, so that a failure on rank 1 is not silent. The
// exit status is failure on every rank if any rank failed.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "phi4flow/parallel/environment.hpp"

namespace {

/// Replaces the default printer on ranks != 0: "[rank r] file:line: message" for every failed assertion, and
/// "[rank r] FAILED Suite.Test" at the end of a failed test. Written to stderr in one call per failure, so that
/// lines of different ranks do not interleave mid-line.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : prefix_("[rank " + std::to_string(rank) + "] ") {}

  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::ostringstream text;
    text << prefix_ << (result.file_name() ? result.file_name() : "unknown file") << ":" << result.line_number()
         << ": ";
    // Multi-line messages (expected/actual) keep the prefix on every line.
    std::istringstream message(result.message());
    std::string line;
    bool first = true;
    while (std::getline(message, line)) {
      text << (first ? "" : "\n" + prefix_ + "  ") << line;
      first = false;
    }
    text << "\n";
    std::fputs(text.str().c_str(), stderr);
    std::fflush(stderr);
  }

  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (!info.result()->Failed()) return;
    const std::string line = prefix_ + "FAILED " + info.test_suite_name() + "." + info.name() + "\n";
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }

 private:
  std::string prefix_;
};

}  // namespace

int main(int argc, char** argv) {
  phi4flow::Environment env(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(rank));
  }
  const int failed = RUN_ALL_TESTS();
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && any_failed && !failed) {
    std::fputs("[rank 0] every test passed here, but tests failed on other ranks: see the [rank r] lines\n", stderr);
  }
  return any_failed;
}
