#!/usr/bin/env bash
# Builds and installs Kokkos from a source tarball or an unpacked source folder, for phi4flow to build against:
#   tools/build_kokkos.sh SOURCE PREFIX serial|openmp|cuda [ARCH]
#   tools/build_kokkos.sh ../shared/vendor/kokkos-4.6.01-cuda13.tar.gz /opt/kokkos-omp openmp
#   tools/build_kokkos.sh ~/kokkos-4.6.01.tar.gz $HOME/kokkos-cuda cuda AMPERE80
#   cmake -S . -B build-omp -DKokkos_ROOT=/opt/kokkos-omp               # then phi4flow against it
#   cmake -S . -B build-cuda -DKokkos_ROOT=$HOME/kokkos-cuda -DCMAKE_CXX_COMPILER=$HOME/kokkos-cuda/bin/nvcc_wrapper
# Backends: serial (Serial only), openmp (OpenMP + Serial, the host compiler), cuda (CUDA + Serial, compiled by
# the source's bin/nvcc_wrapper, which is installed as PREFIX/bin/nvcc_wrapper). Always C++17, Release.
# ARCH (cuda only): a Kokkos architecture (HOPPER90, AMPERE80, ADA89, ...; Kokkos_ARCH_HOPPER90 is accepted too)
# or a compute capability (9.0, 90, sm_90); default: the compute capability of GPU 0 (nvidia-smi) if a GPU is
# present, else HOPPER90.
# Reuse: PREFIX/.build_kokkos/stamp records the source's SHA-256 and the options; a second run with the same source
# and options finds the stamp and the installed KokkosConfig.cmake and returns at once (so CI can cache PREFIX).
# Otherwise the files of an earlier install by this script (its manifest) are removed first, then Kokkos is built
# in a temporary folder and installed; the stamp is written last, so an interrupted build is never reused.
# Settings: JOBS (parallel build jobs, default nproc), NVCC (the nvcc to use; else the one on PATH, in $CUDA_HOME/bin
# or /usr/local/cuda/bin), CXX (host compiler for serial/openmp), KOKKOS_CMAKE_ARGS
# (extra cmake arguments, recorded in the stamp), TMPDIR (where to build), VERBOSE=1 (show cmake's output).
# Exit status: 0 built or reused; 2 bad arguments (one line: missing source, unknown backend or ARCH, no nvcc);
# 1 a failed configure, build or install (the end of its log is printed).
set -euo pipefail
me=build_kokkos
fail() { echo "$me: $*" >&2; exit 2; }

[ $# -ge 3 ] && [ $# -le 4 ] || fail "usage: tools/build_kokkos.sh SOURCE PREFIX serial|openmp|cuda [ARCH]"
src=$1 prefix=$2 backend=$3 arch_arg=${4:-}
[ -e "$src" ] || fail "source $src does not exist (give a Kokkos source tarball or folder)"
[ -r "$src" ] || fail "source $src is not readable"
case "$backend" in serial | openmp | cuda) ;; *) fail "unknown backend '$backend' (serial, openmp or cuda)" ;; esac
[ -z "$arch_arg" ] || [ "$backend" = cuda ] || fail "ARCH ($arch_arg) applies to the cuda backend only"
[ -n "$prefix" ] || fail "empty PREFIX"
src=$(cd "$(dirname "$src")" && pwd)/$(basename "$src")
jobs=${JOBS:-$(nproc)}

# The Kokkos_ARCH_ name of a compute capability ("9.0"), or nothing.
arch_of_cc() {
  case "$1" in
    6.0) echo PASCAL60 ;; 6.1) echo PASCAL61 ;; 7.0) echo VOLTA70 ;; 7.2) echo VOLTA72 ;; 7.5) echo TURING75 ;;
    8.0) echo AMPERE80 ;; 8.6) echo AMPERE86 ;; 8.9) echo ADA89 ;; 9.0) echo HOPPER90 ;;
    10.0) echo BLACKWELL100 ;; 12.0) echo BLACKWELL120 ;;
  esac
}
known_archs="PASCAL60 PASCAL61 VOLTA70 VOLTA72 TURING75 AMPERE80 AMPERE86 ADA89 HOPPER90 BLACKWELL100 BLACKWELL120"

arch="" cxx="" compiler_id="" nvcc=""
if [ "$backend" = cuda ]; then
  if [ -n "${NVCC:-}" ]; then
    nvcc=$(command -v "$NVCC" || true)
    [ -n "$nvcc" ] || fail "backend cuda needs nvcc: NVCC=$NVCC is not an executable"
  fi
  [ -n "$nvcc" ] || nvcc=$(command -v nvcc || true)
  for c in ${CUDA_HOME:+"$CUDA_HOME/bin/nvcc"} ${CUDA_PATH:+"$CUDA_PATH/bin/nvcc"} /usr/local/cuda/bin/nvcc; do
    [ -n "$nvcc" ] || { [ -x "$c" ] && nvcc=$c; }
  done
  [ -n "$nvcc" ] || fail "backend cuda needs nvcc (the CUDA toolkit): none on PATH, in \$CUDA_HOME/bin or /usr/local/cuda/bin"
  export PATH="$(dirname "$nvcc"):$PATH"   # nvcc_wrapper calls the nvcc on PATH
  if [ -n "$arch_arg" ]; then
    a=${arch_arg#Kokkos_ARCH_} a=${a#sm_}
    a=$(tr '[:lower:]' '[:upper:]' <<< "$a")
    [[ $a =~ ^[0-9]+$ ]] && a=$(arch_of_cc "${a:0:${#a}-1}.${a: -1}")
    [[ $a =~ ^[0-9]+\.[0-9]$ ]] && a=$(arch_of_cc "$a")
    [[ " $known_archs " == *" $a "* ]] || fail "unknown CUDA ARCH '$arch_arg' (one of: $known_archs, or a compute capability such as 9.0)"
    arch=$a
  elif command -v nvidia-smi >/dev/null 2>&1 && cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' ') && [ -n "$cc" ]; then
    arch=$(arch_of_cc "$cc")
    [ -n "$arch" ] || fail "GPU 0 has compute capability $cc, which this script cannot name: give ARCH (one of: $known_archs)"
    echo "$me: GPU 0 has compute capability $cc: Kokkos_ARCH_$arch"
  else
    arch=HOPPER90
    echo "$me: no GPU seen (nvidia-smi): Kokkos_ARCH_$arch (give ARCH for another GPU)"
  fi
  compiler_id="nvcc_wrapper; $("$nvcc" --version | tail -1)"
else
  cxx=$(command -v "${CXX:-c++}" || true)
  [ -n "$cxx" ] || fail "no C++ compiler ${CXX:-c++} on PATH (set CXX)"
  compiler_id="$cxx; $("$cxx" --version 2>/dev/null | head -1)"
fi

mkdir -p "$prefix" 2>/dev/null || fail "cannot create PREFIX $prefix"
prefix=$(cd "$prefix" && pwd)

# The source's SHA-256: of the tarball, or of the folder's files (names and contents; build folders left out).
if [ -f "$src" ]; then
  src_sha=$(sha256sum "$src" | cut -d' ' -f1)
else
  [ -f "$src/CMakeLists.txt" ] || fail "source folder $src has no CMakeLists.txt (not a Kokkos source)"
  src_sha=$(cd "$src" && find . -type f -not -path './.git/*' -not -path './build*' -print0 | LC_ALL=C sort -z \
    | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
fi
options=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=17 -DCMAKE_CXX_EXTENSIONS=OFF -DKokkos_ENABLE_SERIAL=ON)
case "$backend" in
  openmp) options+=(-DKokkos_ENABLE_OPENMP=ON) ;;
  cuda) options+=(-DKokkos_ENABLE_CUDA=ON "-DKokkos_ARCH_$arch=ON") ;;
esac
read -ra extra <<< "${KOKKOS_CMAKE_ARGS:-}"
options+=(${extra[@]+"${extra[@]}"})
stamp_dir=$prefix/.build_kokkos
stamp_text="source_sha256=$src_sha
backend=$backend
arch=${arch:-none}
compiler=$compiler_id
cmake_options=${options[*]}"

config_file=$(ls "$prefix"/lib*/cmake/Kokkos/KokkosConfig.cmake 2>/dev/null | head -1 || true)
if [ -f "$stamp_dir/stamp" ] && [ "$(cat "$stamp_dir/stamp")" = "$stamp_text" ] && [ -n "$config_file" ]; then
  echo "$me: reusing $prefix: built from the same source (sha256 ${src_sha:0:12}) with the same options ($backend${arch:+, $arch})"
  exit 0
fi
if [ -f "$stamp_dir/manifest" ]; then
  echo "$me: $prefix holds another build by this script: removing its files first"
  while IFS= read -r f; do rm -f "$f"; done < "$stamp_dir/manifest"
fi
rm -rf "$stamp_dir"

work=$(mktemp -d "${TMPDIR:-/tmp}/build_kokkos.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$prefix/build_kokkos.log
: > "$log"
# Runs a stage, its output into the log (and the terminal with VERBOSE=1); on failure, the log's end and exit 1.
stage() {
  local name=$1 t0=$SECONDS rc=0
  shift
  if [ "${VERBOSE:-0}" = 1 ]; then "$@" 2>&1 | tee -a "$log" || rc=$?; else "$@" >> "$log" 2>&1 || rc=$?; fi
  if [ $rc != 0 ]; then
    tail -n 30 "$log" >&2
    echo "$me: $name failed (status $rc); the whole log: $log" >&2
    exit 1
  fi
  echo "$me: $name done in $((SECONDS - t0)) s"
}

t_start=$SECONDS
if [ -f "$src" ]; then
  mkdir "$work/src"
  stage "unpacking $(basename "$src")" tar -xf "$src" -C "$work/src"
  top=$work/src
  [ -f "$top/CMakeLists.txt" ] || top=$(dirname "$(ls "$work"/src/*/CMakeLists.txt 2>/dev/null | head -1)")
  [ -f "$top/CMakeLists.txt" ] || fail "tarball $src holds no Kokkos source (no CMakeLists.txt at its top)"
else
  top=$src
fi
grep -q "project(Kokkos" "$top/CMakeLists.txt" || fail "$top/CMakeLists.txt is not Kokkos's"
if [ "$backend" = cuda ]; then
  [ -x "$top/bin/nvcc_wrapper" ] || fail "$top/bin/nvcc_wrapper is missing (not a Kokkos source?)"
  compiler=(-DCMAKE_CXX_COMPILER="$top/bin/nvcc_wrapper")
else
  compiler=(-DCMAKE_CXX_COMPILER="$cxx")
fi
echo "$me: building Kokkos ($backend${arch:+, Kokkos_ARCH_$arch}, C++17, Release) from $src into $prefix, $jobs jobs"
stage configure cmake -S "$top" -B "$work/build" "${compiler[@]}" -DCMAKE_INSTALL_PREFIX="$prefix" "${options[@]}"
stage build cmake --build "$work/build" -j "$jobs"
stage install cmake --install "$work/build"
mkdir -p "$stamp_dir"
cp "$work/build/install_manifest.txt" "$stamp_dir/manifest"
printf '%s\n' "$stamp_text" > "$stamp_dir/stamp"
echo "$me: installed in $prefix in $((SECONDS - t_start)) s; build phi4flow with: cmake -S . -B build -DKokkos_ROOT=$prefix$( [ "$backend" = cuda ] && echo " -DCMAKE_CXX_COMPILER=$prefix/bin/nvcc_wrapper")"
