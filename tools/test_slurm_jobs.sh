#!/usr/bin/env bash
# Runs jobs/*.sbatch on the SLURM test cluster (tools/slurm_cluster.sh, 2 nodes) with small, fast settings
# and checks exit codes and produced files. A validation script for the SLURM section of docs/user-guide.md,
# not part of the CTest suite; needs root (it installs and starts slurm-wlm and munge) and a built
# build/src/phi4flow (or PHI4FLOW=...). Takes about three minutes.
#
#   tools/test_slurm_jobs.sh            # all checks; prints PASS/FAIL per check and a closing count
#
# Every job but the time-limit check runs with --time=00:20:00, well above the scripts' --signal=B:USR1@300, so
# that SLURM's own warning (sent when 300 s or less remain, at slurmctld's next periodic check) never reaches a
# test job; the time-limit check moves the warning with SBATCH_SIGNAL=B:USR1@40 instead. USR1 at the very start of
# a job (the moment the batch shell has its trap, before srun or phi4flow run) is sent on purpose by its own checks.
#
# Settings: SLURM_TEST_DIR (outputs, default /tmp/phi4flow-slurmtest, wiped first), SLURM_TEST_TIMEOUT
# (seconds per job, default 180), SLURM_TEST_SKIP_TIMELIMIT=1 skips the wall-time-limit check (up to a minute).
# The cluster is stopped at the end unless it was already running.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
W=${SLURM_TEST_DIR:-/tmp/phi4flow-slurmtest}
timeout=${SLURM_TEST_TIMEOUT:-180}
py=/usr/bin/python3
[ -x "$py" ] || py=python3

bin=${PHI4FLOW:-$root/build/src/phi4flow}
[ -x "$bin" ] || { echo "test_slurm_jobs: no phi4flow binary at $bin (build first or set PHI4FLOW)" >&2; exit 2; }
export PHI4FLOW=${PHI4FLOW:-}   # empty: the job scripts find build/src/phi4flow themselves

was_running=0
bash tools/slurm_cluster.sh status >/dev/null 2>&1 && was_running=1
bash tools/slurm_cluster.sh start 2 || { echo "test_slurm_jobs: could not start the test cluster" >&2; exit 2; }
eval "$(bash tools/slurm_cluster.sh env)"
export SLURM_CONF
cleanup() {
  if [ $was_running = 0 ]; then bash tools/slurm_cluster.sh stop; else echo "test_slurm_jobs: cluster was running before; left running"; fi
}
trap cleanup EXIT

rm -rf "$W"
mkdir -p "$W"
passed=0
failed=0
result() {  # NAME OK DETAIL
  if [ "$2" = 1 ]; then echo "PASS $1: $3"; passed=$((passed + 1)); else echo "FAIL $1: $3"; failed=$((failed + 1)); fi
}

# "STATE EXIT" of each job (array: each task) of job id $1, one per line.
job_states() {
  scontrol show job -o "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*ExitCode=\([0-9:]*\).*/\1 \2/p'
}
# Waits until every job (task) of id $1 has ended; prints the final "STATE EXIT" lines.
wait_job() {
  local id=$1 t=0 s
  while [ $t -lt "$timeout" ]; do
    s=$(job_states "$id")
    if [ -n "$s" ] && ! echo "$s" | grep -qE '^(PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|RESIZING|SIGNALING|STAGE_OUT)'; then
      echo "$s"
      return 0
    fi
    sleep 1
    t=$((t + 1))
  done
  echo "TIMEOUT_WAITING $(job_states "$id" | tr '\n' ' ')"
  scancel "$id" 2>/dev/null
  return 1
}
# Waits until file $1 contains the pattern $2 (at most $3 s).
wait_for_line() {
  local t=0
  while [ $t -lt "$3" ]; do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.5; t=$((t + 1)); done
  return 1
}
# Sends USR1 to the batch shell of job $1 (scancel -s USR1 -b) at the very start: as soon as the shell has
# installed its USR1 trap (SigCgt in /proc: the test cluster's nodes share this machine's processes), before it has
# started srun.
usr1_at_start() {
  local id=$1 t=0 pid mask host
  while [ $t -lt 600 ]; do
    # This host is no node of the test cluster: ask for the batch host's step daemons by its name.
    host=$(scontrol show job -o "$id" 2>/dev/null | sed -n 's/.* BatchHost=\([^ ]*\).*/\1/p')
    pid=$(scontrol listpids "$id" ${host:+"$host"} 2>/dev/null | awk '$3 == "batch" && $4 == "0" { print $1; exit }')
    if [ -n "$pid" ]; then
      mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)
      [ -n "$mask" ] && (( 0x$mask & 0x200 )) && break
    fi
    sleep 0.02
    t=$((t + 1))
  done
  scancel -s USR1 -b "$id"
}
# Prints an attribute: h5attr FILE GROUP NAME
h5attr() {
  "$py" -c 'import sys, h5py; print(h5py.File(sys.argv[1], "r")[sys.argv[2]].attrs[sys.argv[3]])' "$@" 2>/dev/null
}
# n_complete records per chain and the number of chains of an ensemble: "N CHAINS"
ensemble_size() {
  "$py" -c 'import sys, h5py; f = h5py.File(sys.argv[1], "r"); print(f["configs"].attrs["n_complete"], f["records/M"].shape[0])' "$1" 2>/dev/null
}

# A self-contained input (the quickstart couplings) so that the check does not depend on the input/ files
# matching the binary under test.
ini=$W/test.ini
cat > "$ini" <<EOF
[lattice]
L = 6
[action]
m2 = -4.0
lam = 6.975
[run]
seed = 1
progress_interval = 10
[hmc]
output = $W/default.h5
trajectory_length = 1.0
leapfrog_steps = 10
thermalisation = 200
trajectories = 4000
chains_per_rank = 2
measure_every = 1
flush_every = 1000
store_fields = true
[flow]
model = equivariant_cnf
time_basis = 4
frequencies = 3
ode_steps = 6
[train]
checkpoint = $W/default_flow.h5
steps = 30
batch_size = 8
ess_every = 10
ess_samples = 16
checkpoint_every = 200
EOF

common=(--time=00:20:00)   # the warning (@300) would come 15 minutes in: never, for these jobs
small_hmc=("$ini" --hmc.trajectories=2000 --hmc.thermalisation=100)

echo "== 1. jobs/hmc.sbatch, 2 tasks"
id=$(sbatch --parsable "${common[@]}" --ntasks=2 --output="$W/hmc-%j.out" jobs/hmc.sbatch "${small_hmc[@]}" \
  --hmc.output="$W/hmc.h5")
st=$(wait_job "$id")
size=$(ensemble_size "$W/hmc.h5")
ok=0
[ "$st" = "COMPLETED 0:0" ] && [ "$size" = "2000 4" ] && grep -q "done in" "$W/hmc-$id.out" && ok=1
result hmc.sbatch $ok "job $id: $st; ensemble n_complete, chains = ${size:-unreadable} (want 2000 4)"

echo "== 2. hmc.sbatch then analyze.sbatch with --dependency=afterok (analyze submitted from another directory)"
id=$(sbatch --parsable "${common[@]}" --ntasks=2 --output="$W/chain-hmc-%j.out" jobs/hmc.sbatch \
  "$ini" --hmc.trajectories=4000 --hmc.output="$W/chain.h5")
aid=$(cd "$W" && sbatch --parsable "${common[@]}" --dependency=afterok:"$id" --output="$W/analyze-%j.out" \
  "$root/jobs/analyze.sbatch" "$W/chain.h5" --discard 100)
st=$(wait_job "$id")
ast=$(wait_job "$aid")
ok=0
[ "$st" = "COMPLETED 0:0" ] && [ "$ast" = "COMPLETED 0:0" ] && [ -s "$W/chain.results.json" ] && grep -q "m_p" "$W/analyze-$aid.out" && ok=1
result "hmc.sbatch -> analyze.sbatch" $ok "hmc job $id: $st; analyze job $aid: $ast; $( [ -s "$W/chain.results.json" ] && echo "chain.results.json written" || echo "no chain.results.json")"

echo "== 3. jobs/array.sbatch hmc --array=0-1: disjoint chains (run.first_chain 0 and 2), then jobs/merge.sbatch"
id=$(sbatch --parsable "${common[@]}" --array=0-1 --output="$W/array-%A_%a.out" jobs/array.sbatch hmc \
  "${small_hmc[@]}" --hmc.chains_per_rank=2 --hmc.output="$W/array.h5")
st=$(wait_job "$id")
s0=$(ensemble_size "$W/array_task0.h5")
s1=$(ensemble_size "$W/array_task1.h5")
firsts=$(for t in 0 1; do h5attr "$W/array_task$t.h5" / command_line | grep -o -- '--run.first_chain=[0-9]*' | tail -1; done | tr '\n' ' ')
mid=$(sbatch --parsable "${common[@]}" --output="$W/merge-%j.out" jobs/merge.sbatch "$W/array.h5" "$W/array_task0.h5" "$W/array_task1.h5")
mst=$(wait_job "$mid")
joined=$(ensemble_size "$W/array.h5")
ok=0
[ "$(echo "$st" | sort -u)" = "COMPLETED 0:0" ] && [ "$(echo "$st" | wc -l)" = 2 ] && [ "$s0" = "2000 2" ] && [ "$s1" = "2000 2" ] \
  && [ "$firsts" = "--run.first_chain=0 --run.first_chain=2 " ] && [ "$mst" = "COMPLETED 0:0" ] && [ "$joined" = "2000 4" ] && ok=1
result "array.sbatch + merge.sbatch" $ok "array $id tasks: $(echo "$st" | tr '\n' ',') files: task0 ${s0:-missing}, task1 ${s1:-missing}; $firsts; merge job $mid: $mst, joined ${joined:-missing}"

echo "== 4. jobs/train.sbatch, tiny model, 2 tasks"
tiny=("$ini" --lattice.L=4 --flow.time_basis=4 --flow.frequencies=3 --flow.ode_steps=6
  --train.batch_size=8 --train.ess_samples=16)
id=$(sbatch --parsable "${common[@]}" --ntasks=2 --output="$W/train-%j.out" jobs/train.sbatch "${tiny[@]}" \
  --train.steps=30 --train.ess_every=10 --train.checkpoint="$W/flow.h5")
st=$(wait_job "$id")
step=$(h5attr "$W/flow.h5" counters step)
ok=0
[ "$st" = "COMPLETED 0:0" ] && [ "$step" = 30 ] && [ -s "$W/flow.history.csv" ] && ok=1
result train.sbatch $ok "job $id: $st; checkpoint at step ${step:-unreadable} (want 30)"

echo "== 5. hmc.sbatch stopped by scancel --signal=USR1 --batch (exit 3, afterok never fires), then RESUME=1"
long_hmc=("$ini" --hmc.trajectories=1000000 --hmc.measure_every=10 --hmc.store_fields=false
  --hmc.flush_every=500 --run.progress_interval=1 --hmc.output="$W/stop.h5")
id=$(sbatch --parsable "${common[@]}" --ntasks=2 --output="$W/stop-%j.out" jobs/hmc.sbatch "${long_hmc[@]}")
aid=$(sbatch --parsable "${common[@]}" --dependency=afterok:"$id" --output="$W/stop-analyze-%j.out" \
  jobs/analyze.sbatch "$W/stop.h5")
wait_for_line "$W/stop-$id.out" "hmc: trajectory" 60
scancel --signal=USR1 --batch "$id"
st=$(wait_job "$id")
size=$(ensemble_size "$W/stop.h5")
sleep 3
reason=$(scontrol show job -o "$aid" | sed -n 's/.*JobState=\([A-Z]*\) Reason=\([A-Za-z]*\).*/\1 \2/p')
scancel "$aid" 2>/dev/null
n=${size%% *}
ok=0
[ "$st" = "FAILED 3:0" ] && grep -q "stopped by signal" "$W/stop-$id.out" && [ -n "$n" ] && [ "$n" -gt 0 ] && [ "$n" -lt 100000 ] \
  && [ "$reason" = "PENDING DependencyNeverSatisfied" ] && ok=1
result "hmc.sbatch USR1 stop" $ok "job $id: $st; $n of 100000 records per chain saved; afterok job $aid: $reason"
id=$(RESUME=1 sbatch --parsable "${common[@]}" --ntasks=2 --output="$W/resume-%j.out" jobs/hmc.sbatch "${long_hmc[@]}")
st=$(wait_job "$id")
size=$(ensemble_size "$W/stop.h5")
ok=0
[ "$st" = "COMPLETED 0:0" ] && [ "$size" = "100000 4" ] && grep -q "resuming at trajectory" "$W/resume-$id.out" && ok=1
result "hmc.sbatch RESUME=1" $ok "job $id: $st; ensemble n_complete, chains = ${size:-unreadable} (want 100000 4)"

echo "== 6. train.sbatch stopped by scancel -s USR1 -b (exit 3), then RESUME=1"
long_train=("${tiny[@]}" --train.steps=8000 --train.ess_every=500 --train.checkpoint_every=500 --run.progress_interval=1
  --train.checkpoint="$W/flow_stop.h5")
id=$(sbatch --parsable "${common[@]}" --ntasks=2 --output="$W/train-stop-%j.out" jobs/train.sbatch "${long_train[@]}")
wait_for_line "$W/train-stop-$id.out" "train: step" 60
scancel -s USR1 -b "$id"
st=$(wait_job "$id")
step=$(h5attr "$W/flow_stop.h5" counters step)
ok=0
[ "$st" = "FAILED 3:0" ] && grep -q "stopped by signal" "$W/train-stop-$id.out" && [ -n "$step" ] && [ "$step" -lt 8000 ] && ok=1
result "train.sbatch USR1 stop" $ok "job $id: $st; checkpoint at step ${step:-unreadable} of 8000"
id=$(RESUME=1 sbatch --parsable "${common[@]}" --ntasks=2 --output="$W/train-resume-%j.out" jobs/train.sbatch "${long_train[@]}")
st=$(wait_job "$id")
step=$(h5attr "$W/flow_stop.h5" counters step)
ok=0
[ "$st" = "COMPLETED 0:0" ] && [ "$step" = 8000 ] && ok=1
result "train.sbatch RESUME=1" $ok "job $id: $st; checkpoint at step ${step:-unreadable} (want 8000)"

echo "== 7. jobs/compare.sbatch: the equivariant flow and RealNVP at L = 6 for 3 s each, sampled, measured, plotted"
id=$(SIZES=6 BUDGET=3 MH_STEPS=200 OUT="$W/compare" sbatch --parsable "${common[@]}" --ntasks=2 \
  --output="$W/compare-%j.out" jobs/compare.sbatch cnf realnvp)
st=$(wait_job "$id")
ok=0
[ "$st" = "COMPLETED 0:0" ] && [ -f "$W/compare/L6/cnf.done" ] && [ -f "$W/compare/L6/realnvp.done" ] \
  && [ -s "$W/compare/comparison.png" ] && grep -q "^| 6 | RealNVP" "$W/compare-$id.out" && ok=1
result compare.sbatch $ok "job $id: $st; $(ls "$W/compare/L6" 2>/dev/null | grep -c done) models done, figures: $(ls "$W/compare"/*.png 2>/dev/null | wc -l)"

echo "== 8. a --time not longer than the --signal offset is refused: --time=00:05:00 with B:USR1@300 (exit 2, one line)"
id=$(sbatch --parsable --time=00:05:00 --ntasks=2 --output="$W/short-%j.out" jobs/hmc.sbatch "${small_hmc[@]}" \
  --hmc.output="$W/short.h5")
st=$(wait_job "$id")
lines=$(wc -l < "$W/short-$id.out" 2>/dev/null)
ok=0
[ "$st" = "FAILED 2:0" ] && [ "$lines" = 1 ] && grep -q -- "--time=00:05:00 is not longer than the 300 s of --signal=B:USR1@300" "$W/short-$id.out" \
  && [ ! -e "$W/short.h5" ] && ok=1
result "too-short --time refused" $ok "job $id: $st; $lines line(s): $(head -c 200 "$W/short-$id.out" 2>/dev/null)"

echo "== 9. USR1 at the very start (scancel -s USR1 -b once the batch shell traps it): exit 3 and data saved, then RESUME=1"
# Each: NAME SCRIPT OUTPUT-FILE ARGS... (and $want, the complete count); the run is long enough (about 15 s) that
# only the signal can end it early. The signal comes before srun (or at the latest while phi4flow starts up): the
# job must still stop cleanly (no rank killed by USR1) with its data saved, and RESUME=1 must finish it.
start_stop() {
  local name=$1 script=$2 file=$3 id st saved
  shift 3
  id=$(sbatch --parsable "${common[@]}" --ntasks=2 --output="$W/$name-start-%j.out" "jobs/$script" "$@")
  usr1_at_start "$id"
  st=$(wait_job "$id")
  saved=$(saved_count "$name" "$file")
  ok=0
  [ "$st" = "FAILED 3:0" ] && grep -q "stopped by signal" "$W/$name-start-$id.out" && ! grep -q "User defined signal" "$W/$name-start-$id.out" \
    && [ -n "$saved" ] && [ "$saved" -ge 0 ] && ok=1
  result "$script USR1 at start" $ok "job $id: $st; saved: ${saved:-unreadable} $( [ "$name" = train ] && echo steps || echo records per chain)$(grep -m1 -E "User defined|error:|fatal" "$W/$name-start-$id.out" | grep -v "Exited with exit code 3" | sed 's/^/; /')"
  id=$(RESUME=1 sbatch --parsable "${common[@]}" --ntasks=2 --output="$W/$name-start-resume-%j.out" "jobs/$script" "$@")
  st=$(wait_job "$id")
  saved=$(saved_count "$name" "$file")
  ok=0
  [ "$st" = "COMPLETED 0:0" ] && [ "$saved" = "$want" ] && ok=1
  result "$script USR1 at start, RESUME=1" $ok "job $id: $st; saved: ${saved:-unreadable} (want $want)"
}
saved_count() {  # the records per chain of an ensemble, or the step of a checkpoint
  if [ "$1" = train ]; then h5attr "$2" counters step; else "$py" -c 'import sys, h5py; f = h5py.File(sys.argv[1], "r"); print(f["configs"].attrs["n_complete"])' "$2" 2>/dev/null; fi
}
want=200000
start_stop hmc hmc.sbatch "$W/start.h5" "$ini" --hmc.trajectories=2000000 --hmc.measure_every=10 --hmc.store_fields=false \
  --hmc.flush_every=1000 --hmc.output="$W/start.h5"
want=60000
start_stop train train.sbatch "$W/flow_start.h5" "${tiny[@]}" --train.steps=60000 --train.ess_every=1000 \
  --train.checkpoint_every=1000 --train.checkpoint="$W/flow_start.h5"
want=30000
start_stop sample sample.sbatch "$W/sample_start.h5" "${tiny[@]}" --train.checkpoint="$W/flow.h5" --sample.steps=300000 \
  --sample.measure_every=10 --sample.store_fields=false --sample.flush_every=1000 --sample.output="$W/sample_start.h5"

echo "== 10. RESUME=1 with no output yet (a job stopped before it wrote any) starts afresh"
id=$(RESUME=1 sbatch --parsable "${common[@]}" --ntasks=2 --output="$W/fresh-%j.out" jobs/hmc.sbatch "${small_hmc[@]}" \
  --hmc.output="$W/fresh.h5")
st=$(wait_job "$id")
size=$(ensemble_size "$W/fresh.h5")
ok=0
[ "$st" = "COMPLETED 0:0" ] && [ "$size" = "2000 4" ] && grep -q "does not exist yet .*starting afresh" "$W/fresh-$id.out" && ok=1
result "RESUME=1 without output" $ok "job $id: $st; ensemble n_complete, chains = ${size:-unreadable} (want 2000 4)"

if [ "${SLURM_TEST_SKIP_TIMELIMIT:-0}" != 1 ]; then
  echo "== 11. hmc.sbatch at its wall-time limit: --time=00:01:00, SBATCH_SIGNAL=B:USR1@40 (exit 3, not TIMEOUT), then RESUME=1"
  tl=("$ini" --hmc.measure_every=100 --hmc.store_fields=false --hmc.flush_every=100
    --run.progress_interval=5 --hmc.output="$W/timelimit.h5")
  id=$(SBATCH_SIGNAL=B:USR1@40 sbatch --parsable --time=00:01:00 --ntasks=2 --output="$W/timelimit-%j.out" \
    jobs/hmc.sbatch "${tl[@]}" --hmc.trajectories=100000000)
  st=$(wait_job "$id")
  size=$(ensemble_size "$W/timelimit.h5")
  n=${size%% *}
  ok=0
  [ "$st" = "FAILED 3:0" ] && grep -q "stopped by signal" "$W/timelimit-$id.out" && [ -n "$n" ] && [ "$n" -gt 0 ] && ok=1
  result "hmc.sbatch time limit" $ok "job $id: $st; $n records per chain saved"
  # Continue to a target just past the saved records (a resume may change hmc.trajectories).
  target=$(( (n + 500) * 100 ))
  id=$(RESUME=1 sbatch --parsable "${common[@]}" --ntasks=2 --output="$W/timelimit-resume-%j.out" \
    jobs/hmc.sbatch "${tl[@]}" --hmc.trajectories=$target)
  st=$(wait_job "$id")
  size=$(ensemble_size "$W/timelimit.h5")
  ok=0
  [ "$st" = "COMPLETED 0:0" ] && [ "$size" = "$((n + 500)) 4" ] && ok=1
  result "hmc.sbatch time limit RESUME=1" $ok "job $id: $st; ensemble n_complete, chains = ${size:-unreadable} (want $((n + 500)) 4)"
fi

echo "== 12. the GPU and hybrid scripts without GPUs: syntax, train_hybrid.sbatch runs, the GPU scripts' refusals"
# The cluster has no GPUs, so the GPU scripts are submitted with --gpus-per-node=0: they must refuse a too-short
# --time (before anything else) and then a job without GPUs, each with exit 2 and one line; no GPU job runs here.
bad=""
for f in jobs/*.sbatch jobs/common.sh; do bash -n "$f" 2>/dev/null || bad="$bad $f"; done
result "job scripts: bash -n" "$([ -z "$bad" ] && echo 1 || echo 0)" "$(ls jobs/*.sbatch jobs/common.sh | wc -l) files${bad:+; syntax errors in:$bad}"
id=$(sbatch --parsable "${common[@]}" --ntasks-per-node=1 --cpus-per-task=2 --output="$W/hybrid-%j.out" \
  jobs/train_hybrid.sbatch "${tiny[@]}" --train.steps=30 --train.ess_every=10 --train.checkpoint="$W/flow_hybrid.h5")
st=$(wait_job "$id")
step=$(h5attr "$W/flow_hybrid.h5" counters step)
ok=0
[ "$st" = "COMPLETED 0:0" ] && [ "$step" = 30 ] && grep -q "1 rank(s) per node x 2 OpenMP thread(s) (OMP_PROC_BIND=spread, OMP_PLACES=threads)" "$W/hybrid-$id.out" && ok=1
result train_hybrid.sbatch $ok "job $id: $st; checkpoint at step ${step:-unreadable} (want 30); $(grep -m1 "OpenMP thread" "$W/hybrid-$id.out" || echo "no ranks x threads line")"
id=$(sbatch --parsable --time=00:05:00 --gpus-per-node=0 --ntasks-per-node=1 --cpus-per-task=1 --output="$W/gpu-short-%j.out" \
  jobs/train_gpu.sbatch "${tiny[@]}" --train.checkpoint="$W/flow_gpu.h5")
st=$(wait_job "$id")
lines=$(wc -l < "$W/gpu-short-$id.out" 2>/dev/null)
ok=0
[ "$st" = "FAILED 2:0" ] && [ "$lines" = 1 ] && grep -q -- "^train_gpu.sbatch: --time=00:05:00 is not longer than the 300 s" "$W/gpu-short-$id.out" \
  && [ ! -e "$W/flow_gpu.h5" ] && ok=1
result "train_gpu.sbatch too-short --time refused" $ok "job $id: $st; $lines line(s): $(head -c 200 "$W/gpu-short-$id.out" 2>/dev/null)"
id=$(sbatch --parsable "${common[@]}" --gpus-per-node=0 --ntasks-per-node=1 --cpus-per-task=1 --output="$W/gpu-none-%j.out" \
  jobs/sample_gpu.sbatch "${tiny[@]}" --train.checkpoint="$W/flow.h5" --sample.output="$W/sample_gpu.h5")
st=$(wait_job "$id")
lines=$(wc -l < "$W/gpu-none-$id.out" 2>/dev/null)
ok=0
[ "$st" = "FAILED 2:0" ] && [ "$lines" = 1 ] && grep -q "^sample_gpu.sbatch: no GPU allocated to this job" "$W/gpu-none-$id.out" \
  && [ ! -e "$W/sample_gpu.h5" ] && ok=1
result "sample_gpu.sbatch without GPUs refused" $ok "job $id: $st; $lines line(s): $(head -c 200 "$W/gpu-none-$id.out" 2>/dev/null)"

echo "outputs in $W"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
