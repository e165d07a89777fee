# The block that the phi4flow job scripts share (train, hmc, sample, array, merge, analyze, train_gpu, sample_gpu
# and train_hybrid.sbatch): the time-limit check, the run's settings, the binary, and the srun step with its USR1
# forwarding. Sourced, not run: each script first installs its USR1 trap (stop_requested=1), sets -euo pipefail,
# `me` (its name, for messages) and `config` (the input file), then finds this file beside the submitted script
# (sbatch runs a spooled copy, so from the job's Command) and sources it; the script itself then calls
# check_time_limit, find_phi4flow, set_mode and run_step. check_time_limit reads the #SBATCH --signal line of "$0",
# the job script. A script may set srun_bind (the srun binding options, default --cpu-bind=cores) after sourcing.
# shellcheck shell=bash

# Seconds of a SLURM time limit ([D-]HH:MM:SS, D-HH[:MM], MM:SS or MM); fails on UNLIMITED and the like.
limit_seconds() {
  local t=$1 d=0 h=0 m=0 s=0 f
  [[ $t =~ ^([0-9]+-)?[0-9]+(:[0-9]+){0,2}$ ]] || return 1
  if [[ $t == *-* ]]; then
    d=${t%%-*}
    IFS=: read -r h m s <<< "${t#*-}"
  else
    IFS=: read -ra f <<< "$t"
    case ${#f[@]} in
      1) m=${f[0]} ;;
      2) m=${f[0]} s=${f[1]} ;;
      3) h=${f[0]} m=${f[1]} s=${f[2]} ;;
    esac
  fi
  echo $(( ((10#$d * 24 + 10#${h:-0}) * 60 + 10#${m:-0}) * 60 + 10#${s:-0} ))
}
# Exit 2 when the job's own time limit is not longer than the USR1 offset: the warning would come at once.
check_time_limit() {
  local info spec offset=60 limit seconds
  [ -n "${SLURM_JOB_ID:-}" ] || return 0
  info=$(scontrol show job -o "$SLURM_JOB_ID" 2>/dev/null) || return 0
  [[ $info == *" BatchFlag=1 "* ]] || return 0   # run by hand, e.g. inside salloc: no --signal applies
  spec=${SBATCH_SIGNAL:-$(sed -n 's/^#SBATCH --signal=\([^ ]*\).*/\1/p' "$0" 2>/dev/null | tail -1)}
  [[ $spec == *@* ]] && offset=${spec##*@}         # SLURM's default offset is 60 s
  [[ -n $spec && $offset =~ ^[0-9]+$ ]] || return 0
  limit=$(sed -n 's/.* TimeLimit=\([^ ]*\) .*/\1/p' <<< "$info")
  seconds=$(limit_seconds "$limit") || return 0
  if [ "$seconds" -le "$offset" ]; then
    echo "$me: --time=$limit is not longer than the $offset s of --signal=$spec, so the stop signal would come at once: give --time=$(( (2 * offset + 59) / 60 )):00 or more" >&2
    exit 2
  fi
}
# The INI value of key $2 in section [$1] (the last one wins, as in phi4flow).
ini_value() {
  awk -v sec="$1" -v key="$2" '
    /^[ \t]*[#;]/ { next }
    /^[ \t]*\[/ { s = $0; gsub(/^[ \t]*\[|\][ \t]*$/, "", s); next }
    s == sec { line = $0; sub(/[ \t]*[#;].*$/, "", line)
               if (match(line, "^[ \t]*" key "[ \t]*=")) { v = substr(line, RLENGTH + 1); gsub(/^[ \t]+|[ \t]+$/, "", v); val = v } }
    END { print val }' "$config"
}
# The value of setting $1 (section.key) for this run: --$1=V or --$1 V among the extra arguments, else the INI's.
setting() {
  local key=$1 val="" prev="" a
  shift
  [ -r "$config" ] || return 0   # phi4flow says so
  for a in "$@"; do
    case "$a" in --"$key"=*) val=${a#*=} ;; esac
    [ "$prev" = "--$key" ] && val=$a
    prev=$a
  done
  [ -n "$val" ] || val=$(ini_value "${key%%.*}" "${key#*.}")
  echo "$val"
}
# Sets mode: --force for a fresh run; --resume with RESUME=1, but when the output FILE ($1) does not exist yet (the
# job before stopped, or was killed, before writing it) nothing at all, so the run starts afresh and still refuses
# to overwrite a file that is there after all.
set_mode() {
  mode=(--force)
  # A job requeued after a stop (REQUEUE_ON_STOP=1, below) starts again with SLURM_RESTART_COUNT > 0: it resumes.
  [ "${RESUME:-0}" = 1 ] || [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ] || return 0
  mode=(--resume)
  if [ -n "$1" ] && [ ! -e "$1" ]; then
    echo "$me: RESUME=1, but $1 does not exist yet (no earlier job wrote it): starting afresh"
    mode=()
  fi
}
find_phi4flow() {
  # sbatch runs a spooled copy of this script, so the repository is found from the job's Command.
  local script c
  [ -n "${PHI4FLOW:-}" ] && { echo "$PHI4FLOW"; return; }
  script=$(scontrol show job "${SLURM_JOB_ID:-0}" 2>/dev/null | sed -n 's/^ *Command=\([^ ]*\).*/\1/p' | head -1)
  for c in build/src/phi4flow ${script:+"$(dirname "$script")/../build/src/phi4flow"}; do
    [ -x "$c" ] && { echo "$c"; return; }
  done
  command -v phi4flow || { echo "phi4flow: binary not found; set PHI4FLOW=/path/to/phi4flow" >&2; return 2; }
}
# run_step ARGS: srun ARGS in the background; passes the batch shell's USR1 (B: above, or scancel -s USR1 -b) on
# to the ranks, which save and exit with status 3; exits with srun's status. A USR1 forwarded too early kills
# instead of stopping: srun dies of it before it has blocked the signals it forwards, and so does a rank before
# phi4flow has installed its handler (first thing in main, after MPI and Kokkos are up). Hence:
#  - the ranks start with USR1 ignored (`trap '' USR1`, then exec: an ignored signal stays ignored across exec,
#    until phi4flow's handler replaces it), so an early USR1 is lost, never fatal;
#  - the first forward waits until srun blocks USR1 and the ranks on this node ignore or catch it (SigBlk, SigIgn,
#    SigCgt in /proc; the ranks from scontrol listpids), then $settle s for the ranks on other nodes; where that
#    cannot be seen, until srun has run $grace s;
#  - the forward repeats every $every s until srun exits, so a USR1 that starting ranks ignored, or that srun
#    dropped before its tasks existed, comes again; a handled repeat only sets the same flag once more.
# A USR1 that came before srun started (stop_requested) is passed on the same way: the run starts, stops after its
# first step (train) or stop check (hmc, sample: 16 steps), saves, and exits 3, so RESUME=1 continues from there.
grace=20 settle=1 every=3 step="" started=0 forwarder=""
# The binding options of the srun step: cores for CPU jobs; a GPU script sets its own after sourcing this file.
srun_bind=(--cpu-bind=cores)
# Whether the mask line $2 of /proc/PID/status ($1) has USR1.
proc_has_usr1() {
  local mask
  mask=$(sed -n "s/^$2:[[:space:]]*//p" "$1" 2>/dev/null) || return 1
  [ -n "$mask" ] && (( 0x$mask & (1 << ($(kill -l USR1) - 1)) ))
}
ranks_ready() {
  local pids p
  proc_has_usr1 "/proc/$step/status" SigBlk || return 1
  pids=$(scontrol listpids "${SLURM_JOB_ID:-0}" 2>/dev/null | awk '$3 ~ /^[0-9]+$/ && $4 ~ /^[0-9]+$/ { print $1 }')
  [ -n "$pids" ] || return 1
  for p in $pids; do
    proc_has_usr1 "/proc/$p/status" SigIgn || proc_has_usr1 "/proc/$p/status" SigCgt || return 1
  done
}
forward_stop() {
  [ -z "$forwarder" ] || return 0
  forwarder=starting
  echo "$me: USR1: passing it on to the ranks, which save and exit with status 3"
  (
    trap '' USR1
    trap 'kill "$!" 2>/dev/null; exit 0' TERM   # run_step's end: take the sleep along
    pause() { sleep "$1" & wait "$!" || true; }
    until ranks_ready || [ $((SECONDS - started)) -ge "$grace" ] || ! kill -0 "$step" 2>/dev/null; do pause 0.2; done
    pause "$settle"
    while kill -0 "$step" 2>/dev/null; do
      kill -USR1 "$step" 2>/dev/null || true
      pause "$every"
    done
  ) &
  forwarder=$!
}
# Binding needs a task plugin: where the cluster has none (TaskPlugin=task/none, as tools/slurm_cluster.sh's), srun
# would only warn about it.
cluster_binds() { ! scontrol show config 2>/dev/null | grep -qE '^TaskPlugin +=( task/none)?$'; }
# --kill-on-bad-exit: a rank that dies (killed, out of memory, a crash) ends the whole step at once, where the other
# ranks would wait for it in their next collective forever.
run_step() {
  cluster_binds || srun_bind=()
  srun --mpi=pmix --kill-on-bad-exit=1 ${srun_bind[@]+"${srun_bind[@]}"} bash -c 'trap "" USR1; exec "$@"' phi4flow-rank "$@" &
  step=$! started=$SECONDS
  trap 'stop_requested=1; forward_stop' USR1
  if [ "$stop_requested" = 1 ]; then forward_stop; fi
  # wait returns early (> 128) whenever the trap runs: wait until srun has exited; bash keeps its exit status.
  while kill -0 "$step" 2>/dev/null; do wait "$step" || true; done
  local rc=0
  wait "$step" || rc=$?
  case "$forwarder" in "" | starting) ;; *) kill "$forwarder" 2>/dev/null || true ;; esac
  # REQUEUE_ON_STOP=1 (jobs/pipeline.sh sets it): a stop with everything saved -- SLURM's warning before the time
  # limit -- puts the job back in the queue under the same id, so that jobs depending on it (afterok) still wait for
  # it; it then resumes. At most MAX_REQUEUES (default 10) times. SLURM holds a requeued job for two minutes.
  if [ "$rc" = 3 ] && [ "${REQUEUE_ON_STOP:-0}" = 1 ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    if [ "${SLURM_RESTART_COUNT:-0}" -lt "${MAX_REQUEUES:-10}" ]; then
      echo "$me: stopped with everything saved: requeueing job $SLURM_JOB_ID to continue with --resume (restart $(( ${SLURM_RESTART_COUNT:-0} + 1 )) of at most ${MAX_REQUEUES:-10})"
      scontrol requeue "$SLURM_JOB_ID" && exit 0
      echo "$me: scontrol requeue failed (submitted without --requeue, or JobRequeue=0?): resubmit with RESUME=1" >&2
    else
      echo "$me: stopped ${MAX_REQUEUES:-10} times already: not requeued again (raise MAX_REQUEUES or the job's --time)" >&2
    fi
  fi
  case $rc in
    0 | 2 | 3) ;;   # done; bad input (phi4flow said why); stopped by USR1 with everything saved
    *) echo "$me: the step failed (srun exit status $rc; srun's lines above name the rank and node): every rank was ended; what was saved before stays, and RESUME=1 continues from it, also on fewer nodes" >&2 ;;
  esac
  exit "$rc"
}

# ---- node set-ups of the GPU and hybrid scripts (after check_time_limit and find_phi4flow) ----
# Whether the binary $1 links a shared library matching the pattern $2 (unknown, so true, where ldd cannot tell).
links() {
  local l
  l=$(ldd "$(command -v "$1")" 2>/dev/null) || return 0
  grep -qE "$2" <<< "$l"
}
# One rank per GPU: refuses (exit 2) a job without GPUs, binds each task to one GPU (GPU_BIND: single:1 by
# default, or closest, or none, where every rank sees all GPUs of its node and Kokkos picks one by its local rank),
# and sets reducer_args from REDUCER (--parallel.reducer=auto|mpi|nccl; unset: the input's, auto by default: NCCL
# between GPUs). $1: the binary, which should be a CUDA build (a note says so when it links no CUDA library).
use_gpus() {
  local gpus=${SLURM_GPUS_ON_NODE:-} bind=${GPU_BIND:-single:1}
  [ -n "$gpus" ] || gpus=$(tr ',' '\n' <<< "${SLURM_JOB_GPUS:-${CUDA_VISIBLE_DEVICES:-}}" | grep -c . || true)
  if [ -n "${SLURM_JOB_ID:-}" ] && [ "${gpus:-0}" = 0 ]; then
    echo "$me: no GPU allocated to this job: give --gpus-per-node=N with --ntasks-per-node=N (one rank per GPU)" >&2
    exit 2
  fi
  srun_bind=(--cpu-bind=cores)
  [ "$bind" = none ] || srun_bind+=(--gpu-bind="$bind")
  reducer_args=()
  [ -z "${REDUCER:-}" ] || reducer_args=(--parallel.reducer="$REDUCER")
  links "$1" 'libcu(da|dart|fft)|libnccl' || echo "$me: note: $1 links no CUDA library: not a CUDA build? It would compute on the CPUs"
  echo "$me: ${SLURM_NTASKS_PER_NODE:-${SLURM_NTASKS:-1}} rank(s) per node on ${gpus:-?} GPU(s) per node, --gpu-bind=$bind, reducer ${REDUCER:-from the input (auto: NCCL between GPUs)}"
}
# Ranks x OpenMP threads: each rank's threads on its own cores (--cpus-per-task of them), spread over them.
# $1: the binary, which should be an OpenMP build (a note says so when it links no OpenMP runtime).
use_openmp() {
  export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1} OMP_PROC_BIND=${OMP_PROC_BIND:-spread} OMP_PLACES=${OMP_PLACES:-threads}
  srun_bind=(--cpu-bind=cores)
  links "$1" 'lib(g|i)?omp' || echo "$me: note: $1 links no OpenMP runtime: not an OpenMP build? Each rank would run one thread"
  echo "$me: ${SLURM_NTASKS_PER_NODE:-${SLURM_NTASKS:-1}} rank(s) per node x $OMP_NUM_THREADS OpenMP thread(s) (OMP_PROC_BIND=$OMP_PROC_BIND, OMP_PLACES=$OMP_PLACES)"
}
