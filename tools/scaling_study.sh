#!/usr/bin/env bash
# Scaling study: a matrix of training, sampling and ensemble-writing runs over ranks and nodes, weak (fixed work per
# rank) and strong (fixed global work), each run's own timing lines in one CSV, then the tables and the efficiency
# plot (tools/scaling_report.py). docs/scaling.md holds the results and the model built on them.
#
#   tools/scaling_study.sh                  # on the SLURM cluster of $SLURM_CONF (srun), else with mpiexec (1 node)
#   bash tools/slurm_cluster.sh start 2 && eval "$(bash tools/slurm_cluster.sh env)" && tools/scaling_study.sh
#
# Per run: train reports compute, all-reduce (waiting for the slowest rank included) and update time per step
# (phi4flow train's "per step over ..." line); sample its proposals per second; hmc with stored fields the size of
# its ensemble and the time its appends took (parallel HDF5 through MPI-IO), so the write rate. A run with more
# ranks on a node than the node has cores, or more ranks in all than this machine has cores (the test cluster's
# nodes share them), is marked oversubscribed: its times measure the sharing, only its communication part means
# something.
#
# Settings (environment): OUT (default runs/scaling), RANKS (default "1 2 4"), NODES ("1 2"; 1 without SLURM),
# L (12), BATCH_PER_RANK (weak training, 16), GLOBAL_BATCH (strong training, 64), STEPS (training steps, 40),
# CHAINS_PER_RANK (weak sampling, 4), GLOBAL_CHAINS (strong sampling, 8), SAMPLE_STEPS (1000), IO_L (64),
# IO_RECORDS (records per chain of the write test, 1000), MODEL_SIZES (one-rank compute per sample for the model,
# "12 20 32"), PHI4FLOW (the binary).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=${PHI4FLOW:-$root/build/src/phi4flow}
[ -x "$bin" ] || { echo "scaling_study: no phi4flow binary at $bin (build first or set PHI4FLOW)" >&2; exit 2; }
out=${OUT:-runs/scaling}
ranks_list=${RANKS:-1 2 4}
L=${L:-12}
bpr=${BATCH_PER_RANK:-16} global_batch=${GLOBAL_BATCH:-64} steps=${STEPS:-40}
cpr=${CHAINS_PER_RANK:-4} global_chains=${GLOBAL_CHAINS:-8} sample_steps=${SAMPLE_STEPS:-1000}
io_L=${IO_L:-64} io_records=${IO_RECORDS:-1000}
model_sizes=${MODEL_SIZES:-12 20 32}
cores=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OMP_NUM_THREADS=1

if [ -n "${SLURM_CONF:-}" ] && sinfo -h >/dev/null 2>&1; then
  launcher=srun
  nodes_list=${NODES:-1 2}
  cores_per_node=$(sinfo -h -N -o '%c' | head -1)
else
  launcher=mpiexec
  nodes_list=1
  cores_per_node=$cores
  [ "${NODES:-1}" = 1 ] || echo "scaling_study: no SLURM cluster (SLURM_CONF): running on this node only"
fi
mkdir -p "$out"
csv=$out/scaling.csv
echo "kind,scaling,nodes,ranks,oversubscribed,L,batch,local_batch,chains,steps,compute_ms,compute_slowest_ms,allreduce_ms,update_ms,step_ms,proposals_per_s,file_MB,write_s,write_MB_per_s" > "$csv"

launch() {  # NODES RANKS LOG ARGS...: one phi4flow run
  local n=$1 r=$2 log=$3
  shift 3
  if [ "$launcher" = srun ]; then
    # Ranks spread evenly over the nodes; --overcommit allows more ranks than a node's CPUs (then SLURM refuses
    # --ntasks-per-node, and one node needs none).
    local spread=()
    [ "$n" = 1 ] || spread=(--ntasks-per-node=$(((r + n - 1) / n)))
    srun --nodes="$n" --ntasks="$r" ${spread[@]+"${spread[@]}"} --overcommit --mpi=pmix --kill-on-bad-exit=1 \
      "$bin" "$@" > "$log" 2>&1
  else
    mpiexec -n "$r" "$bin" "$@" > "$log" 2>&1
  fi || { echo "scaling_study: run failed ($log):" >&2; tail -5 "$log" >&2; exit 1; }
}
oversubscribed() {  # NODES RANKS
  local per_node=$((($2 + $1 - 1) / $1))
  [ "$per_node" -gt "$cores_per_node" ] || [ "$2" -gt "$cores" ] && echo 1 || echo 0
}
# The numbers of phi4flow train's "per step over ..." line: compute slowest allreduce update (ms).
step_times() {
  sed -n 's/.*per step over .*: compute \([0-9.]*\) ms (slowest rank \([0-9.]*\) ms), all-reduce \([0-9.]*\) ms, update \([0-9.]*\) ms.*/\1 \2 \3 \4/p' "$1"
}
# "proposals_per_s MB write_s" from a sampler's closing rate line.
rates() {
  sed -n 's/.*: \([0-9.e+]*\) [a-z]* per second on .* holds \([0-9.e+]*\) MB, appended in \([0-9.]*\) s.*/\1 \2 \3/p' "$1"
}

train_run() {  # SCALING NODES RANKS BATCH CONFIG LATTICE
  local scaling=$1 n=$2 r=$3 batch=$4 config=$5 size=$6 tag log t
  tag=train_${scaling}_L${size}_n${n}_r${r}
  log=$out/$tag.log
  launch "$n" "$r" "$log" train --config "$config" --lattice.L="$size" --train.steps="$steps" --train.batch_size="$batch" \
    --train.ess_every="$steps" --train.ess_samples="$batch" --train.checkpoint_every="$steps" \
    --train.checkpoint="$out/$tag.h5" --run.progress_interval=1000 --force
  read -r c s a u <<< "$(step_times "$log")"
  t=$(awk -v c="$c" -v a="$a" -v u="$u" 'BEGIN { printf "%.3f", c + a + u }')
  echo "train,$scaling,$n,$r,$(oversubscribed "$n" "$r"),$size,$batch,$((batch / r)),,$steps,$c,$s,$a,$u,$t,,,," >> "$csv"
  echo "  train  $scaling L=$size nodes=$n ranks=$r batch=$batch: compute $c ms (slowest $s), all-reduce $a ms, step $t ms"
}
sample_run() {  # SCALING NODES RANKS CHAINS_PER_RANK
  local scaling=$1 n=$2 r=$3 chains=$4 tag log
  tag=sample_${scaling}_n${n}_r${r}
  log=$out/$tag.log
  launch "$n" "$r" "$log" sample --config input/L12.ini --checkpoint models/L12.h5 --sample.steps="$sample_steps" \
    --sample.chains_per_rank="$chains" --sample.store_fields=false --sample.output="$out/$tag.h5" \
    --run.progress_interval=1000 --force
  read -r p mb w <<< "$(rates "$log")"
  echo "sample,$scaling,$n,$r,$(oversubscribed "$n" "$r"),12,,,$((chains * r)),$sample_steps,,,,,,$p,$mb,$w," >> "$csv"
  echo "  sample $scaling nodes=$n ranks=$r chains=$((chains * r)): $p proposals/s"
}
write_run() {  # NODES RANKS: HMC of cheap trajectories storing every field, to time the ensemble's writes
  local n=$1 r=$2 tag log
  tag=write_n${n}_r${r}
  log=$out/$tag.log
  launch "$n" "$r" "$log" hmc --config input/L12.ini --lattice.L="$io_L" --hmc.leapfrog_steps=1 --hmc.thermalisation=0 \
    --hmc.trajectories="$io_records" --hmc.chains_per_rank=4 --hmc.store_fields=true --hmc.flush_every=250 \
    --hmc.output="$out/$tag.h5" --run.progress_interval=1000 --force
  read -r p mb w <<< "$(rates "$log")"
  echo "write,weak,$n,$r,$(oversubscribed "$n" "$r"),$io_L,,,$((4 * r)),$io_records,,,,,,$p,$mb,$w,$(awk -v m="$mb" -v s="$w" 'BEGIN { printf "%.1f", m / s }')" >> "$csv"
  echo "  write  nodes=$n ranks=$r: $mb MB in $w s of appends"
  rm -f "$out/$tag.h5"
}

echo "scaling_study: $launcher on nodes {$nodes_list} x ranks {$ranks_list}, $cores cores here ($cores_per_node per node); CSV $csv"
echo "== one-rank compute per sample for the model (L = $model_sizes, batch $bpr)"
for size in $model_sizes; do
  config=input/L$size.ini
  [ -r "$config" ] || config=input/L12.ini
  train_run model 1 1 "$bpr" "$config" "$size"
done
for n in $nodes_list; do
  for r in $ranks_list; do
    [ "$r" -ge "$n" ] || continue
    echo "== nodes $n, ranks $r$( [ "$(oversubscribed "$n" "$r")" = 1 ] && echo " (oversubscribed)")"
    train_run weak "$n" "$r" $((bpr * r)) input/L12.ini "$L"
    train_run strong "$n" "$r" "$global_batch" input/L12.ini "$L"
    sample_run weak "$n" "$r" "$cpr"
    sample_run strong "$n" "$r" $((global_chains / r))
    write_run "$n" "$r"
  done
done
/usr/bin/python3 tools/scaling_report.py "$csv" --markdown "$out/scaling.md" --plot "$out/scaling.png"
echo "scaling_study: $csv, $out/scaling.md, $out/scaling.png"
