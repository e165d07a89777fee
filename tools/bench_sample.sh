#!/usr/bin/env bash
# Benchmark of flow Metropolis-Hastings sampling: proposals per second per rank at L = 6, 12, 20, 32, 64 on 1 and
# 2 ranks (weak scaling: the same chains and steps per rank), with the paper's model size (A = 10, F = 9, 54 RK4
# steps). Timings do not depend on the trained values, so each L uses a model trained for one step.
#   bash tools/bench_sample.sh            # SIZES="6 12" RANKS="1 2" to choose
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
phi4flow=${PHI4FLOW:-$root/build/src/phi4flow}
sizes=${SIZES:-6 12 20 32 64}
ranks_list=${RANKS:-1 2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
printf "%4s %6s %12s %16s %10s\n" L ranks proposals "proposals/s/rank" "speed-up"
for L in $sizes; do
  common=(--config "$root/input/L6.ini" --lattice.L="$L" --force)
  "$phi4flow" train "${common[@]}" --train.steps=1 --train.batch_size=2 --train.ess_samples=2 \
    --train.checkpoint="$tmp/L$L.h5" > /dev/null
  # About the same work at every L: fewer proposals on larger lattices.
  steps=$(( 1536 * 36 / (L * L) + 48 ))
  single=""
  for ranks in $ranks_list; do
    log=$(mpiexec -n "$ranks" --oversubscribe "$phi4flow" sample "${common[@]}" --checkpoint "$tmp/L$L.h5" \
      --sample.chains_per_rank=8 --sample.thermalisation=0 --sample.steps="$steps" --sample.batch_size=64 \
      --sample.store_fields=false --sample.flush_every=1000 --sample.output="$tmp/s.h5" | grep "done in")
    seconds=$(sed -n 's/.*done in \([0-9.]*\) s.*/\1/p' <<<"$log")
    proposals=$(sed -n 's/.* over \([0-9]*\) proposals.*/\1/p' <<<"$log")
    rate=$(awk -v p="$proposals" -v s="$seconds" -v r="$ranks" 'BEGIN {printf "%.1f", p / s / r}')
    [ -z "$single" ] && single=$rate
    speedup=$(awk -v a="$rate" -v b="$single" -v r="$ranks" 'BEGIN {printf "%.2f", a * r / b}')
    printf "%4d %6d %12d %16s %10s\n" "$L" "$ranks" "$proposals" "$rate" "$speedup"
  done
done
