#!/usr/bin/env bash
# Physics validation of HMC against the paper's Table 1 (results in docs/validation.md):
# L = 6 and 12 at the paper's couplings; L = 20 and 32 at the printed couplings and at the ones that give
# xi = L/4 with this action. Runs on $RANKS MPI ranks (default 2); $SCALE multiplies the trajectory counts.
#   bash tools/validate_hmc.sh            # writes runs/validation/*.h5, *.results.json and a markdown table
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHI4FLOW_BUILD_DIR:-$root/build}
ranks=${RANKS:-2}
scale=${SCALE:-1}
out=$root/runs/validation
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$root"

# name input lam trajectories measure_every
runs=(
  "L6    input/L6.ini   6.975 20000 1"
  "L12   input/L12.ini  5.276 20000 1"
  "L20_paper input/L20.ini 5.113 10000 2"
  "L20   input/L20.ini  4.807 20000 2"
  "L32_paper input/L32.ini 4.750 10000 5"
  "L32   input/L32.ini  4.572 20000 5"
)
for run in "${runs[@]}"; do
  read -r name input lam traj every <<<"$run"
  echo "== $name: $input with lam = $lam"
  /usr/bin/time -f "%e s wall" mpiexec -n "$ranks" --oversubscribe "$build/src/phi4flow" hmc --config "$input" --force \
    --action.lam="$lam" --hmc.trajectories=$((traj * scale)) --hmc.measure_every="$every" \
    --hmc.store_fields=false --hmc.output="$out/$name.h5" --run.progress_interval=30 2>&1 | tail -2
  "$build/src/phi4flow" analyze "$out/$name.h5" > "$out/$name.table"
  cat "$out/$name.table"
done
/usr/bin/python3 "$root/tools/validation_table.py" "$out"/*.results.json | tee "$out/table.md"
