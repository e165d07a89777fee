#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (GoogleTest via CTest, MPI tests on 1 and 2 ranks).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHI4FLOW_BUILD_DIR:-$root/build}
bash "$root/tools/build.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cd "$build"
ctest --output-on-failure --timeout 600 -j "$(nproc)"
