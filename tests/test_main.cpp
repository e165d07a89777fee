// The one test main: MPI, then Kokkos, then the tests; only rank 0 prints GoogleTest's report.
#include <gtest/gtest.h>

#include "phi4flow/parallel/environment.hpp"

int main(int argc, char** argv) {
  phi4flow::Environment env(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (env.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any_failed;
}
