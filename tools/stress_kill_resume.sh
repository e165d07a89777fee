#!/usr/bin/env bash
# Kill-safety stress test of ensemble writing (docs/file-format.md): runs an HMC job, SIGKILLs it at a random
# moment, resumes it, and repeats; every file must equal the uninterrupted reference bit for bit.
#   ROUNDS=30 bash tools/stress_kill_resume.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
phi4flow=${PHI4FLOW:-$root/build/src/phi4flow}
rounds=${ROUNDS:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--config "$root/input/quickstart.ini" --lattice.L=12 --action.lam=5.276 --hmc.thermalisation=100
        --hmc.trajectories=6000 --hmc.measure_every=5 --hmc.flush_every=10 --hmc.chains_per_rank=4
        --run.progress_interval=1000)
"$phi4flow" hmc "${common[@]}" --hmc.output="$tmp/reference.h5" > /dev/null
failures=0
for round in $(seq 1 "$rounds"); do
  out=$tmp/run$round.h5
  kills=0
  # Kill at random moments until a run gets through; then compare.
  until "$phi4flow" hmc "${common[@]}" --hmc.output="$out" $([ -e "$out" ] && echo --resume || echo --force) \
        > "$tmp/log" 2>&1 & pid=$!; sleep "0.$((RANDOM % 9 + 1))"; ! kill -KILL "$pid" 2>/dev/null; do
    wait "$pid" 2>/dev/null || true
    kills=$((kills + 1))
    [ $kills -gt 40 ] && break
  done
  wait "$pid" 2>/dev/null || true
  # Finish the run if the last kill landed after it ended or the loop gave up.
  "$phi4flow" hmc "${common[@]}" --hmc.output="$out" --resume > "$tmp/log" 2>&1 || { echo "round $round: resume failed after $kills kills: $(tail -1 "$tmp/log")"; failures=$((failures + 1)); continue; }
  if /usr/bin/python3 "$root/tests/cli/compare_ensembles.py" "$tmp/reference.h5" "$out" 1200 > /dev/null; then
    echo "round $round: $kills kills, identical"
  else
    echo "round $round: $kills kills, DIFFERS"; failures=$((failures + 1))
  fi
done
echo "$failures failures in $rounds rounds"
[ $failures -eq 0 ]
