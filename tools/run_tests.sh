#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (GoogleTest via CTest, MPI tests on 1, 2 and 3
# ranks) with Debian's Serial Kokkos, the multi-node SLURM workflows on a 2-node test cluster (tools/test_cluster.sh),
# then the suite on an OpenMP Kokkos 4, and every target compiled for CUDA (tools/test_backends.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHI4FLOW_BUILD_DIR:-$root/build}
bash "$root/tools/build.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
(cd "$build" && ctest --output-on-failure --timeout 600 -j "$(nproc)")
# The production workflows across the nodes of a 2-node SLURM test cluster (network namespaces on this machine).
PHI4FLOW="$build/src/phi4flow" bash "$root/tools/test_cluster.sh"
# The same suite on an OpenMP Kokkos 4 and every target compiled for CUDA (tools/test_backends.sh says what runs).
bash "$root/tools/test_backends.sh"
