#!/usr/bin/env bash
# The production workflows on a 2-node SLURM cluster (tools/slurm_cluster.sh: two network-namespace nodes on this
# machine, MPI between them over TCP), on a tiny lattice (L = 8), checked against runs without SLURM. Part of the
# README's test command; needs root. About two minutes.
#   1. srun across the nodes: the ranks' hostnames differ (node1, node2);
#   2. jobs/pipeline.sh: multi-node data-parallel training (2 ranks on 2 nodes) -> a sampling job array of 2 tasks
#      -> merge -> analyze, with the training stopped by SLURM's USR1 (as at its time limit): it requeues itself
#      and resumes; its checkpoint equals an uninterrupted run's bit for bit;
#   3. the merged ensemble's analysis equals the analysis of one sampling job with all the chains (2 nodes);
#   4. a rank killed (SIGKILL) on node2 ends the whole training job within 30 s with a clear message; the job
#      resubmitted on one node (RESUME=1) ends with the uninterrupted run's checkpoint;
#   5. the cluster stops and leaves no daemon, namespace or bridge behind.
# Prints PASS/FAIL per check and a closing count; exit status 0 only if all pass. Settings: CLUSTER_TEST_DIR
# (outputs, default /tmp/phi4flow-clustertest, wiped first), PHI4FLOW (the binary, default build/src/phi4flow).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
W=${CLUSTER_TEST_DIR:-/tmp/phi4flow-clustertest}
bin=${PHI4FLOW:-$root/build/src/phi4flow}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
[ -x "$bin" ] || { echo "test_cluster: no phi4flow binary at $bin (build first or set PHI4FLOW)" >&2; exit 2; }
export PHI4FLOW=$bin OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

bash tools/slurm_cluster.sh start 2 || { echo "test_cluster: the cluster did not start" >&2; exit 2; }
eval "$(bash tools/slurm_cluster.sh env)"
export SLURM_CONF
stopped=0
trap '[ $stopped = 1 ] || bash tools/slurm_cluster.sh stop' EXIT

rm -rf "$W"
mkdir -p "$W"
passed=0 failed=0
result() {  # NAME OK DETAIL
  if [ "$2" = 1 ]; then echo "PASS $1: $3"; passed=$((passed + 1)); else echo "FAIL $1: $3"; failed=$((failed + 1)); fi
}
field() { scontrol show job -o "$1" 2>/dev/null | head -1 | sed -n "s/.* $2=\([^ ]*\).*/\1/p"; }
# Waits (at most $2 s) until job $1 and every task of it has ended; prints "STATE EXIT" of its first record.
wait_job() {
  local t=0 s
  while [ $t -lt "$2" ]; do
    s=$(scontrol show job -o "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*ExitCode=\([0-9:]*\).*/\1 \2/p')
    if [ -n "$s" ] && ! grep -qE '^(PENDING|RUNNING|CONFIGURING|COMPLETING|REQUEUED|SIGNALING)' <<< "$s"; then
      sort -u <<< "$s" | head -1
      return 0
    fi
    sleep 1
    t=$((t + 1))
  done
  echo "TIMEOUT"
  return 1
}
wait_for_line() {  # FILE PATTERN SECONDS
  local t=0
  while [ $t -lt $(($3 * 5)) ]; do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.2; t=$((t + 1)); done
  return 1
}
# Whether two checkpoints hold the same parameters and optimiser state, bit for bit.
same_checkpoint() {
  "$py" - "$1" "$2" <<'EOF' 2>/dev/null
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
same = all(np.array_equal(a["arrays"][k][()], b["arrays"][k][()]) for k in ("parameters", "adam_m", "adam_v"))
same = same and a["counters"].attrs["step"] == b["counters"].attrs["step"]
sys.exit(0 if same else 1)
EOF
}

# Small, but a training of some 10 s on a quiet 2-core machine, so that the stop and the kill below land inside it.
ini=$W/tiny.ini
cat > "$ini" <<EOF
[lattice]
L = 8
[action]
m2 = -4.0
lam = 6.975
[run]
seed = 7
progress_interval = 1
[flow]
model = equivariant_cnf
time_basis = 4
frequencies = 3
ode_steps = 6
[train]
checkpoint = $W/flow.h5
steps = 6000
batch_size = 64
ess_every = 1000
ess_samples = 16
checkpoint_every = 500
[sample]
output = $W/flow_mh.h5
chains_per_rank = 2
thermalisation = 20
steps = 2000
flush_every = 500
batch_size = 16
EOF
long=(--time=00:20:00)   # the scripts' own warning (@300 s before the limit) never comes

echo "== 1. srun over two nodes"
hosts=$(timeout 60 srun --nodes=2 --ntasks-per-node=1 hostname 2>&1 | sort | tr '\n' ' ')
ok=0
[ "$hosts" = "node1 node2 " ] && ok=1
result "ranks on two hosts" $ok "srun --nodes=2 --ntasks-per-node=1 hostname: $hosts"

echo "== reference: the same training with mpiexec, 2 ranks, uninterrupted"
mpiexec -n 2 "$bin" train --config "$ini" --train.checkpoint="$W/reference.h5" --force > "$W/reference.out" 2>&1
[ -s "$W/reference.h5" ] || { echo "test_cluster: the reference training failed:"; tail -5 "$W/reference.out"; }

echo "== 2. jobs/pipeline.sh: train on 2 nodes (stopped by USR1, requeued, resumed) -> array of 2 -> merge -> analyze"
TASKS=2 TRAIN_OPTS="--nodes=2 --ntasks=2 --ntasks-per-node=1 ${long[*]} --output=$W/train-%j.out" \
  SAMPLE_OPTS="--ntasks=1 ${long[*]} --output=$W/sample-%A_%a.out" MERGE_OPTS="--output=$W/merge-%j.out" \
  ANALYZE_OPTS="--output=$W/analyze-%j.out" bash jobs/pipeline.sh "$ini" > "$W/pipeline.out" 2>&1
cat "$W/pipeline.out"
train=$(sed -n 's/^pipeline.sh: train *job \([0-9]*\).*/\1/p' "$W/pipeline.out")
analyze=$(sed -n 's/^pipeline.sh: analyze *job \([0-9]*\).*/\1/p' "$W/pipeline.out")
if [ -n "$train" ] && wait_for_line "$W/train-$train.out" "train: step" 60; then
  scancel --signal=USR1 --batch "$train"   # what SLURM sends before the time limit (#SBATCH --signal=B:USR1@300)
fi
# SLURM holds a requeued job for two minutes before it may start again: the test does not wait for that, only until
# the step daemons of the first start are gone (a new start under the same step id would find their PMIx socket).
for _ in $(seq 60); do [ "$(field "$train" Restarts)" = 1 ] && [ "$(field "$train" JobState)" = PENDING ] && break; sleep 1; done
for _ in $(seq 120); do pgrep -f "slurmstepd: \[$train\." > /dev/null || break; sleep 0.5; done
sleep 1
scontrol update JobId="$train" StartTime=now 2>/dev/null
st=$(wait_job "${analyze:-0}" 240)
tst=$(wait_job "${train:-0}" 5)
ok=0
grep -q "requeueing job $train" "$W/train-$train.out" && grep -q "resuming at step" "$W/train-$train.out" \
  && [ "$tst" = "COMPLETED 0:0" ] && [ "$(field "$train" Restarts)" = 1 ] && ok=1
result "training stopped by USR1 requeues itself and resumes" $ok "train job $train: $tst, restarts $(field "$train" Restarts)"
ok=0
grep -q "2 ranks on 2 nodes: node1 (rank 0), node2 (rank 1)" "$W/train-$train.out" && grep -q "all-reduce" "$W/train-$train.out" && ok=1
result "training ranks on two nodes" $ok "$(grep -m1 "ranks on" "$W/train-$train.out"); $(grep -m1 "per step over" "$W/train-$train.out")"
ok=0
same_checkpoint "$W/flow.h5" "$W/reference.h5" && ok=1
result "requeued training equals the uninterrupted run" $ok "$W/flow.h5 vs $W/reference.h5 (parameters, Adam moments, step)"
ok=0
[ "$st" = "COMPLETED 0:0" ] && [ -s "$W/flow_mh.results.json" ] && ok=1
result "pipeline: sample array -> merge -> analyze" $ok "analyze job ${analyze:-none}: $st; $(ls "$W"/flow_mh_task*.h5 2>/dev/null | wc -l) task files, results $( [ -s "$W/flow_mh.results.json" ] && echo written || echo missing)"

echo "== 3. one sampling job with all the chains (2 nodes x 1 rank x 2 chains) analyses as the merged array"
id=$(sbatch --parsable --nodes=2 --ntasks=2 --ntasks-per-node=1 "${long[@]}" --output="$W/single-%j.out" jobs/sample.sbatch "$ini" \
  --sample.output="$W/single.h5")
st=$(wait_job "$id" 120)
"$bin" analyze "$W/single.h5" > /dev/null 2>&1
ok=0
[ "$st" = "COMPLETED 0:0" ] && [ -s "$W/single.results.json" ] && cmp -s "$W/single.results.json" "$W/flow_mh.results.json" && ok=1
result "merged array = one job" $ok "job $id: $st; results JSON $(cmp -s "$W/single.results.json" "$W/flow_mh.results.json" && echo identical || echo differ)"

echo "== 4. a rank killed on node2 ends the job; RESUME=1 on one node finishes it"
id=$(sbatch --parsable --nodes=2 --ntasks=2 --ntasks-per-node=1 "${long[@]}" --output="$W/kill-%j.out" jobs/train.sbatch "$ini" \
  --train.checkpoint="$W/killed.h5")
victim=""
if wait_for_line "$W/kill-$id.out" "train: step [1-9][0-9]*0" 60; then
  sleep 1
  for p in $(ip netns pids phi4flow-node2 2>/dev/null); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = phi4flow ] && victim=$p
  done
fi
killed_at=$SECONDS
[ -n "$victim" ] && kill -9 "$victim"
st=$(wait_job "$id" 60)
took=$((SECONDS - killed_at))
ok=0
[ -n "$victim" ] && [ "$took" -le 30 ] && [[ $st == FAILED* ]] && grep -q "the step failed" "$W/kill-$id.out" && ok=1
result "killed rank ends the job" $ok "pid ${victim:-none found} on node2 killed; job $id $st after $took s; $(grep -m1 "the step failed" "$W/kill-$id.out" | cut -c1-120)"
step=$("$py" -c 'import sys, h5py; print(h5py.File(sys.argv[1], "r")["counters"].attrs["step"])' "$W/killed.h5" 2>/dev/null)
id=$(RESUME=1 sbatch --parsable --nodes=1 --ntasks=2 "${long[@]}" --output="$W/resume-%j.out" jobs/train.sbatch "$ini" \
  --train.checkpoint="$W/killed.h5")
st=$(wait_job "$id" 120)
ok=0
[ "$st" = "COMPLETED 0:0" ] && [ -n "$step" ] && [ "$step" -lt 6000 ] && grep -q "resuming at step $step" "$W/resume-$id.out" \
  && grep -q "2 ranks on 1 node" "$W/resume-$id.out" && same_checkpoint "$W/killed.h5" "$W/reference.h5" && ok=1
result "resumed on fewer nodes equals the uninterrupted run" $ok "killed at checkpoint step ${step:-?}; job $id on 1 node: $st"

echo "== 5. stop"
bash tools/slurm_cluster.sh stop
stopped=1
left=$( (ip netns list 2>/dev/null | grep -c phi4flow-node; ip link show p4fbr0 2>/dev/null | grep -c p4fbr0; for d in slurmd slurmctld munged; do pgrep -x "$d"; done | wc -l) | paste -sd' ')
ok=0
[ "$left" = "0 0 0" ] && ok=1
result "nothing left behind" $ok "namespaces, bridge, daemons: $left"

echo "outputs in $W"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
