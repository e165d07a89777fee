#!/usr/bin/env bash
# The suite on Kokkos 4 backends besides Debian's Serial Kokkos 3.4 (part of the README's test command):
#   - OpenMP: Kokkos built from a source tarball, phi4flow built against it, the whole CTest suite at
#     1 rank x 2 threads and at 1, 2, 3 ranks x 1 thread;
#   - CUDA: Kokkos for sm_90 (Kokkos_ARCH_HOPPER90), every phi4flow target (library, executable, tests, benchmarks)
#     compiled and linked with nvcc, not run (no GPU needed).
# Kokkos installs are cached under $PHI4FLOW_CACHE (default ~/.cache/phi4flow) and reused by tools/build_kokkos.sh's
# stamp; phi4flow builds go to $PHI4FLOW_BUILD_DIR-openmp / -cuda (default build-openmp, build-cuda).
# The Kokkos source: $KOKKOS_SOURCE, else kokkos-4.6.01-cuda13.tar.gz in shared/vendor of the repository or in
# ../shared/vendor beside it. Without a source the backend builds cannot run: the script says so in one line and
# exits 0, so that a machine without the tarball still runs the Serial suite; without nvcc only CUDA is left out,
# with a line saying so. Each part prints its time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${PHI4FLOW_CACHE:-$HOME/.cache/phi4flow}
base=${PHI4FLOW_BUILD_DIR:-$root/build}
src=${KOKKOS_SOURCE:-}
if [ -z "$src" ]; then
  for c in "$root/shared/vendor/kokkos-4.6.01-cuda13.tar.gz" "$root/../shared/vendor/kokkos-4.6.01-cuda13.tar.gz"; do
    [ -e "$c" ] && { src=$c; break; }
  done
fi
if [ -z "$src" ] || [ ! -e "$src" ]; then
  echo "test_backends: NOT RUN: no Kokkos 4 source (set KOKKOS_SOURCE=/path/to/kokkos-4.x.tar.gz); OpenMP and CUDA builds left out"
  exit 0
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
stage() { echo "test_backends: $1 in $(( $(date +%s) - $2 )) s"; }

t=$(date +%s)
bash "$root/tools/build_kokkos.sh" "$src" "$cache/kokkos-openmp" openmp
stage "OpenMP Kokkos" "$t"
t=$(date +%s)
omp_build=$base-openmp
cmake -S "$root" -B "$omp_build" -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT="$cache/kokkos-openmp" > /dev/null
cmake --build "$omp_build" -j "$(nproc)"
stage "phi4flow on OpenMP" "$t"
for threads in 2 1; do
  t=$(date +%s)
  cmake "$omp_build" -DPHI4FLOW_TEST_THREADS="$threads" > /dev/null
  (cd "$omp_build" && OMP_NUM_THREADS=$threads OMP_PROC_BIND=false ctest --output-on-failure --timeout 600 -j 1)
  stage "OpenMP suite, $threads thread(s) per rank" "$t"
done

nvcc=$(command -v nvcc || echo "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc")
if [ ! -x "$nvcc" ]; then
  echo "test_backends: CUDA NOT BUILT: no nvcc (on PATH or in \$CUDA_HOME/bin, /usr/local/cuda/bin)"
  exit 0
fi
export PATH=$(dirname "$nvcc"):$PATH
t=$(date +%s)
bash "$root/tools/build_kokkos.sh" "$src" "$cache/kokkos-cuda-hopper90" cuda HOPPER90
stage "CUDA Kokkos (sm_90)" "$t"
t=$(date +%s)
cuda_build=$base-cuda
cmake -S "$root" -B "$cuda_build" -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT="$cache/kokkos-cuda-hopper90" \
  -DCMAKE_CXX_COMPILER="$cache/kokkos-cuda-hopper90/bin/nvcc_wrapper" > /dev/null
cmake --build "$cuda_build" -j "$(nproc)"
stage "every phi4flow target compiled and linked for CUDA (not run: no GPU needed)" "$t"
