#!/usr/bin/env bash
# The GPU check of phi4flow, for a machine with an NVIDIA GPU and the CUDA toolkit (nvcc, cuFFT, NCCL), in one go:
#   1. Kokkos for CUDA from a source tarball, for this GPU's architecture (tools/build_kokkos.sh; nvidia-smi's
#      compute capability), and beside it Kokkos for OpenMP (the CPU reference), both in parallel;
#   2. phi4flow against each: every target with CUDA, phi4flow and the benchmarks with OpenMP;
#   3. the whole CTest suite with the CUDA backend at 1 rank, then the MPI tests at 2 ranks sharing the GPU;
#   4. bench_hmc, bench_flow and tools/bench_sample.sh on the GPU, then the same on the CPUs (OpenMP, all cores);
#   5. one table of the GPU figures beside the CPU ones, with the GPU's speed-up.
#     bash tools/device_check.sh                 # OUT=/some/dir to collect everything it prints and its logs there
# Refuses (exit 2, one line) on a machine without an NVIDIA GPU (nvidia-smi) or without nvcc. Each stage has a
# timeout and prints its time; the whole check is sized for about 8 minutes on a 16-core machine with an H200.
# Exit status: 0 all passed; 1 a stage failed or timed out (the end of its log is printed; the later stages that do
# not need it still run, so one run shows as much as it can).
# Settings (environment):
#   KOKKOS_SOURCE   Kokkos source tarball or folder (default: the vendor tarball kokkos-4.6.01-cuda13.tar.gz in
#                   shared/vendor of the repository, or ../shared/vendor beside it)
#   WORK            build folder (default /tmp/phi4flow-device-check; Kokkos installs there are reused when a second
#                   run has the same source and options, the phi4flow builds are incremental)
#   CPU_FIGURES     a figures file of an earlier run (OUT/cpu_figures.txt) to use instead of building and running the
#                   CPU side; CPU=0 skips the CPU side altogether (the table then has the GPU column only)
#   MPI_RANKS       rank counts of the MPI tests after the 1-rank suite (default "2"; "2 3" adds the 3-rank tests)
#   BENCH_BUDGET    bench_flow --budget (default 3 s: sizes whose step would take longer are skipped)
#   SAMPLE_SIZES    tools/bench_sample.sh lattice sizes (default "12 32"), at 1 rank
#   BENCH_FLOW_ARGS bench_flow's arguments instead (e.g. --quick for a smoke run)
#   T_KOKKOS, T_BUILD, T_CTEST, T_BENCH   timeouts in seconds of each stage (defaults 300, 420, 300, 150)
#   T_TOTAL         the whole check's budget in seconds (default 540): a stage gets at most what is left of it, and
#                   is skipped when less than 15 s are left (so a run always ends with its table, within ~9 minutes)
# The figures file (OUT/gpu_figures.txt, OUT/cpu_figures.txt): one line per figure, "benchmark|metric|value|better",
# better being "higher" (rates) or "lower" (seconds).
set -uo pipefail
me=device_check
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-}
if [ -n "$out" ]; then
  mkdir -p "$out" || { echo "$me: cannot create OUT=$out" >&2; exit 2; }
  exec > >(tee -a "$out/device_check.log") 2>&1
fi

gpu=$(nvidia-smi --query-gpu=name,compute_cap,memory.total --format=csv,noheader 2>/dev/null | head -1 || true)
[ -n "$gpu" ] || gpu=$(nvidia-smi -L 2>/dev/null | grep -m1 '^GPU' || true)
[ -n "$gpu" ] || { echo "$me: no NVIDIA GPU here (nvidia-smi lists none): this check needs one" >&2; exit 2; }
nvcc=$(command -v nvcc || true)
[ -n "$nvcc" ] || { [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc && export PATH="/usr/local/cuda/bin:$PATH"; }
[ -n "$nvcc" ] || { echo "$me: no nvcc (the CUDA toolkit) on PATH or in /usr/local/cuda/bin: this check builds with it" >&2; exit 2; }
src=${KOKKOS_SOURCE:-}
if [ -z "$src" ]; then
  for c in "$root/shared/vendor/kokkos-4.6.01-cuda13.tar.gz" "$root/../shared/vendor/kokkos-4.6.01-cuda13.tar.gz"; do
    [ -e "$c" ] && { src=$c; break; }
  done
fi
[ -n "$src" ] && [ -e "$src" ] || { echo "$me: no Kokkos source: set KOKKOS_SOURCE=/path/to/kokkos-4.x.tar.gz" >&2; exit 2; }

work=${WORK:-/tmp/phi4flow-device-check}
logs=$work/logs
mkdir -p "$logs"
ncpu=$(nproc)
cpu_side=${CPU:-1}
[ -z "${CPU_FIGURES:-}" ] || cpu_side=file
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
t_kokkos=${T_KOKKOS:-300} t_build=${T_BUILD:-420} t_ctest=${T_CTEST:-300} t_bench=${T_BENCH:-150} t_total=${T_TOTAL:-540}
failed=()
t_all=$SECONDS

echo "$me: GPU: $gpu; nvcc: $("$nvcc" --version | tail -1); $ncpu cores; Kokkos source: $src; work in $work"
echo "$me: commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"

# stage NAME TIMEOUT COMMAND...: runs it with its output in logs/NAME.log, prints its time and status; on failure
# the log's last lines. Returns the command's status (124: timed out). The timeout shrinks to what is left of
# T_TOTAL; with less than 15 s left the stage is skipped (and counts as failed).
stage() {
  local name=$1 limit=$2 t0=$SECONDS rc=0 left
  shift 2
  left=$(( t_total - (SECONDS - t_all) ))
  if [ $left -lt 15 ]; then
    printf '%s: stage %-22s skipped (T_TOTAL=%d s spent)\n' "$me" "$name" "$t_total"
    failed+=("$name")
    return 124
  fi
  [ "$limit" -le $left ] || limit=$left
  timeout --kill-after=10 "$limit" "$@" > "$logs/$name.log" 2>&1 || rc=$?
  if [ $rc = 0 ]; then
    printf '%s: stage %-22s ok      %4d s\n' "$me" "$name" $((SECONDS - t0))
  else
    printf '%s: stage %-22s FAILED  %4d s (%s)\n' "$me" "$name" $((SECONDS - t0)) \
      "$([ $rc = 124 ] && echo "timed out after $limit s" || echo "status $rc")"
    tail -n 25 "$logs/$name.log" | sed 's/^/    | /'
    failed+=("$name")
  fi
  return $rc
}
# Runs a stage's command in the background (for the builds that run side by side); wait_stage collects it.
declare -A bg_pid bg_t0 bg_limit
stage_bg() {
  local name=$1
  bg_t0[$name]=$SECONDS bg_limit[$name]=$2
  ( timeout --kill-after=10 "$2" "${@:3}" > "$logs/$name.log" 2>&1 ) &
  bg_pid[$name]=$!
}
wait_stage() {
  local name=$1 rc=0
  wait "${bg_pid[$name]}" || rc=$?
  if [ $rc = 0 ]; then
    printf '%s: stage %-22s ok      %4d s\n' "$me" "$name" $((SECONDS - bg_t0[$name]))
  else
    printf '%s: stage %-22s FAILED  %4d s (%s)\n' "$me" "$name" $((SECONDS - bg_t0[$name])) \
      "$([ $rc = 124 ] && echo "timed out after ${bg_limit[$name]} s" || echo "status $rc")"
    tail -n 25 "$logs/$name.log" | sed 's/^/    | /'
    failed+=("$name")
  fi
  return $rc
}
skip() { printf '%s: stage %-22s skipped (%s)\n' "$me" "$1" "$2"; }

# ---- 1 and 2: the builds (CUDA with all cores; the CPU side beside it with a quarter of them) ----
kk_cuda=$work/kokkos-cuda kk_omp=$work/kokkos-openmp b_cuda=$work/build-cuda b_omp=$work/build-openmp
jc=$ncpu jo=$(( ncpu / 4 > 0 ? ncpu / 4 : 1 ))
build_cpu='JOBS=$4 bash "$1/tools/build_kokkos.sh" "$2" "$3" openmp && cmake -S "$1" -B "$5" -DKokkos_ROOT="$3" -DCMAKE_BUILD_TYPE=Release && cmake --build "$5" -j "$4" --target phi4flow bench_hmc bench_flow'
[ "$cpu_side" = 1 ] && stage_bg cpu-build "$((t_kokkos + t_build))" bash -c "$build_cpu" build-cpu "$root" "$src" "$kk_omp" "$jo" "$b_omp"
ok_cuda=0
if stage kokkos-cuda "$t_kokkos" env JOBS="$jc" bash "$root/tools/build_kokkos.sh" "$src" "$kk_cuda" cuda; then
  grep -h "build_kokkos:" "$logs/kokkos-cuda.log" | sed 's/^/    /'
  stage configure-cuda 120 cmake -S "$root" -B "$b_cuda" -DKokkos_ROOT="$kk_cuda" \
    -DCMAKE_CXX_COMPILER="$kk_cuda/bin/nvcc_wrapper" -DCMAKE_BUILD_TYPE=Release \
    && stage build-cuda "$t_build" cmake --build "$b_cuda" -j "$jc" && ok_cuda=1
else
  skip configure-cuda "no CUDA Kokkos"
fi
ok_cpu=0
if [ "$cpu_side" = 1 ]; then wait_stage cpu-build && ok_cpu=1; fi

# ---- 3: the test suite with the CUDA backend ----
if [ $ok_cuda = 1 ]; then
  # Every test but the MPI tests at 2 or more ranks (test_*_np2, _np3), which follow, one rank count at a time.
  stage ctest-cuda-1rank "$t_ctest" ctest --test-dir "$b_cuda" --output-on-failure --timeout 240 -E '_np([2-9]|[1-9][0-9]+)$' -j 4
  sed -n 's/^\(.*tests passed.*\)$/    \1/p' "$logs/ctest-cuda-1rank.log"
  for n in ${MPI_RANKS:-2}; do
    stage "ctest-cuda-${n}ranks" "$t_ctest" ctest --test-dir "$b_cuda" --output-on-failure --timeout 240 -R "_np${n}\$"
    sed -n 's/^\(.*tests passed.*\)$/    \1/p' "$logs/ctest-cuda-${n}ranks.log"
  done
else
  skip ctest-cuda "no CUDA build"
fi

# ---- 4: benchmarks ----
# figures KIND: the figures of logs/bench-*-KIND.log as "benchmark|metric|value|better" lines.
figures() {
  awk '$3 == "|" && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && NF >= 12 && $10 ~ /^[0-9][0-9.e+]*$/ {
         printf "hmc L=%s batch=%s|traj/s|%s|higher\n", $1, $2, $10; printf "hmc L=%s batch=%s|force/s|%s|higher\n", $1, $2, $7 }' \
    "$logs/bench-hmc-$1.log" 2>/dev/null
  awk '$3 == "|" && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $5 ~ /^[0-9][0-9.e+-]*$/ && $10 ~ /^[0-9][0-9.e+-]*$/ {
         printf "flow L=%s batch=%s|s/train step|%s|lower\n", $1, $2, $5; printf "flow L=%s batch=%s|s/sample call|%s|lower\n", $1, $2, $10 }' \
    "$logs/bench-flow-$1.log" 2>/dev/null
  awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && NF == 5 && $4 ~ /^[0-9]/ { printf "sample L=%s ranks=%s|proposals/s/rank|%s|higher\n", $1, $2, $4 }' \
    "$logs/bench-sample-$1.log" 2>/dev/null
}
benches() {  # KIND BUILD-DIR
  local kind=$1 b=$2
  stage "bench-hmc-$kind" "$t_bench" stdbuf -oL "$b/bench/bench_hmc"
  stage "bench-flow-$kind" "$t_bench" stdbuf -oL "$b/bench/bench_flow" ${BENCH_FLOW_ARGS:---budget ${BENCH_BUDGET:-3}}
  stage "bench-sample-$kind" "$t_bench" env PHI4FLOW="$b/src/phi4flow" SIZES="${SAMPLE_SIZES:-12 32}" RANKS=1 \
    bash "$root/tools/bench_sample.sh"
  for f in hmc flow sample; do sed 's/^/    /' "$logs/bench-$f-$kind.log"; done
  figures "$kind" > "$work/${kind}_figures.txt"
}
if [ $ok_cuda = 1 ]; then benches gpu "$b_cuda"; else skip bench-gpu "no CUDA build"; fi
case "$cpu_side" in
  1) if [ $ok_cpu = 1 ]; then
       export OMP_NUM_THREADS=$ncpu OMP_PROC_BIND=spread OMP_PLACES=threads
       benches cpu "$b_omp"
     else skip bench-cpu "no CPU build"; fi ;;
  file) cp "$CPU_FIGURES" "$work/cpu_figures.txt" 2>/dev/null || { echo "$me: CPU_FIGURES=$CPU_FIGURES is not readable"; failed+=(cpu-figures); } ;;
  *) : > "$work/cpu_figures.txt" ;;
esac

# ---- 5: the table ----
cpu_label="CPU ($( [ "$cpu_side" = file ] && echo "from $(basename "$CPU_FIGURES")" || echo "OpenMP, $ncpu threads"))"
echo
echo "GPU ${gpu%%,*} against the CPUs of this machine$( [ "$cpu_side" = file ] && echo " (CPU figures from $CPU_FIGURES)"):"
awk -F'|' -v cpulabel="$cpu_label" '
  FILENAME == ARGV[1] { cpu[$1 "|" $2] = $3; next }
  FNR == 1 { printf "%-26s %-17s %26s %14s %9s\n", "benchmark", "metric", cpulabel, "GPU (CUDA)", "speed-up"
             printf "%-26s %-17s %26s %14s %9s\n", "---", "---", "---", "---", "---" }
  { c = cpu[$1 "|" $2]; s = "-"
    if (c != "" && c + 0 > 0 && $3 + 0 > 0) s = sprintf("%.1fx", $4 == "higher" ? $3 / c : c / $3)
    printf "%-26s %-17s %26s %14s %9s\n", $1, $2, (c == "" ? "-" : c), $3, s }' \
  "$work/cpu_figures.txt" "$work/gpu_figures.txt" 2>/dev/null
[ -s "$work/gpu_figures.txt" ] || echo "(no GPU figures)"
echo "(speed-up: GPU rate / CPU rate, or CPU seconds / GPU seconds; bench_hmc at L = 32, 64, 128 with about 2^20 sites, bench_flow with --budget ${BENCH_BUDGET:-3}, bench_sample.sh at 1 rank with its 8 chains x 64 proposals per evaluation)"

if [ -n "$out" ]; then
  mkdir -p "$out/logs"
  cp "$logs"/*.log "$out/logs/" 2>/dev/null
  cp "$work"/*_figures.txt "$out/" 2>/dev/null
fi
echo "$me: total $((SECONDS - t_all)) s; $( [ ${#failed[@]} = 0 ] && echo "all stages passed" || echo "failed: ${failed[*]}")${out:+; everything in $out}"
[ ${#failed[@]} = 0 ]
