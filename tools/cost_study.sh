#!/usr/bin/env bash
# Where the flow pays off: the cost per effectively independent configuration of chi2 and |M| for tuned HMC and
# for flow Metropolis-Hastings, on the same cores, for the input files' lattices (L = 6, 12, 20, 32: the paper's
# line of constant physics, m_p L ~ 4), with the fitted dynamical exponent of HMC and the training cost each flow
# must amortise. Writes a CSV, prints a table and draws the plot (tools/cost_report.py); docs/flow.md has the result.
#
#   bash tools/cost_study.sh
#   SIZES="6 12" TRAJECTORIES=5000 bash tools/cost_study.sh        # a quick look
#
# HMC, at every L: trajectory lengths TAU_LIST x step sizes STEP_SIZES (leapfrog steps = length / step size, a
# setting whose molecular dynamics diverges is left out), each run with 2 ranks x 2 chains;
# the cost of a setting is the wall time per chain trajectory times 2 tau_int (Gamma method, analyze); the tuned
# cost is the best setting's. Flow MH: a trained model per L (FLOW_MODELS, L=checkpoint pairs; the shipped and
# in-progress models by default), 2 ranks x 2 chains, cost = wall time per chain step x 2 tau_int of the MH chain;
# training cost = the seconds in the model's history (train.* time on 2 cores). Settings: OUT (default runs/cost),
# SIZES, TRAJECTORIES (per chain, default 20000), MH_STEPS (per chain, default 5000), TAU_LIST ("0.5 1 2"),
# STEP_SIZES ("0.05 0.08 0.12"), FLOW_MODELS, PHI4FLOW.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=${PHI4FLOW:-$root/build/src/phi4flow}
[ -x "$bin" ] || { echo "cost_study: no phi4flow binary at $bin (build first or set PHI4FLOW)" >&2; exit 2; }
out=${OUT:-runs/cost}
sizes=${SIZES:-6 12 20 32}
trajectories=${TRAJECTORIES:-20000}
mh_steps=${MH_STEPS:-5000}
tau_list=${TAU_LIST:-0.5 1 2}
step_sizes=${STEP_SIZES:-0.05 0.08 0.12}
flow_models=${FLOW_MODELS:-6=models/L6.h5 12=models/L12.h5 20=models/L20.h5 32=models/L32.h5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
py=/usr/bin/python3
mkdir -p "$out"
csv=$out/cost.csv
echo "L,algorithm,trajectory_length,leapfrog_steps,acceptance,seconds_per_step,tau_chi2,tau_chi2_error,tau_abs_M,tau_abs_M_error,cost_chi2_s,cost_abs_M_s,chi2,chi2_error,training_s" > "$csv"

# Wall seconds per chain step of a run: 1 / its rate (phi4flow ...: R trajectories|proposals per second on N ranks).
seconds_per_step() { sed -n 's/.*: \([0-9.e+]*\) [a-z]* per second on .*/\1/p' "$1" | tail -1 | awk '{ printf "%.6e", 1 / $1 }'; }
# One CSV row from an analysis: L algorithm tau n seconds-per-step training
row() {
  "$py" - "$@" <<'EOF'
import json, sys
results, L, algorithm, tau, n, per_step, training = sys.argv[1:8]
r = json.load(open(results))
per_step = float(per_step)
c, m = r["chi2"], r["abs_M"]
acc = r.get("acceptance", {}).get("value", float("nan"))
cost = lambda t: per_step * 2 * t
print(f"{L},{algorithm},{tau},{n},{acc:.4f},{per_step:.4e},{c['tau_int']:.3f},{c['tau_int_error']:.3f},"
      f"{m['tau_int']:.3f},{m['tau_int_error']:.3f},{cost(c['tau_int']):.4e},{cost(m['tau_int']):.4e},"
      f"{c['value']:.5f},{c['error']:.5f},{training}")
EOF
}

for L in $sizes; do
  config=input/L$L.ini
  [ -r "$config" ] || { echo "cost_study: no $config: the study uses the input files' couplings" >&2; exit 2; }
  for tau in $tau_list; do
    for eps in $step_sizes; do
      n=$(awk -v t="$tau" -v e="$eps" 'BEGIN { n = int(t / e + 0.5); print n < 1 ? 1 : n }')
      tag=hmc_L${L}_t${tau}_n${n}
      if ! mpiexec -n 2 "$bin" hmc --config "$config" --hmc.trajectory_length="$tau" --hmc.leapfrog_steps="$n" \
        --hmc.trajectories="$trajectories" --hmc.thermalisation=500 --hmc.chains_per_rank=2 --hmc.measure_every=1 \
        --hmc.store_fields=false --hmc.flush_every=5000 --hmc.output="$out/$tag.h5" --run.progress_interval=1000 \
        --force > "$out/$tag.log" 2>&1; then
        echo "  L = $L HMC tau = $tau, $n steps: failed ($(grep -m1 -o 'molecular dynamics diverged' "$out/$tag.log" || echo "see $out/$tag.log")): left out"
        continue
      fi
      per_step=$(seconds_per_step "$out/$tag.log")
      "$bin" analyze "$out/$tag.h5" --discard 100 > /dev/null
      row "$out/$tag.results.json" "$L" hmc "$tau" "$n" "$per_step" "" >> "$csv"
      echo "  L = $L HMC tau = $tau, $n steps: $(tail -1 "$csv")"
    done
  done
done
for pair in $flow_models; do
  L=${pair%%=*} model=${pair#*=}
  [[ " $sizes " == *" $L "* ]] || continue
  [ -r "$model" ] || { echo "cost_study: no model $model for L = $L: skipped"; continue; }
  tag=flow_L$L
  mpiexec -n 2 "$bin" sample --config "input/L$L.ini" --checkpoint "$model" --sample.steps="$mh_steps" \
    --sample.chains_per_rank=2 --sample.store_fields=false --sample.output="$out/$tag.h5" \
    --run.progress_interval=1000 --force > "$out/$tag.log" 2>&1
  per_step=$(seconds_per_step "$out/$tag.log")
  "$bin" analyze "$out/$tag.h5" > /dev/null
  history=${model%.h5}.history.csv
  training=$([ -r "$history" ] && tail -1 "$history" | awk -F, '{ print $5 }' || echo "")
  row "$out/$tag.results.json" "$L" flow-mh "" "" "$per_step" "$training" >> "$csv"
  echo "  L = $L flow MH ($model): $(tail -1 "$csv")"
done
"$py" tools/cost_report.py "$csv" --markdown "$out/cost.md" --plot "$out/cost.png"
echo "cost_study: $csv, $out/cost.md, $out/cost.png"
