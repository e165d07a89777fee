#!/usr/bin/env bash
# The paper's model comparison (its Figs. 1, 2 and 5) at equal wall-clock budgets. For every lattice size and
# model: train input/L<size>.ini for BUDGET seconds (train.time_limit; ESS of fresh samples against training time
# in <model>.history.csv), run flow Metropolis-Hastings with the result (<model>.mh.h5: acceptance, ESS of the
# proposals), and measure its symmetry violation on configurations of a short HMC ensemble (<model>.symmetry.h5).
#   SIZES="6 12" BUDGET=600 bash tools/compare_models.sh [model ...]
#   /usr/bin/python3 tools/plot_comparison.py runs/compare       # table, Fig. 1 and Fig. 5
# Models: cnf (the equivariant flow), translation_only and sign_breaking (the paper's ablations), no_symmetry
# (both ablations), realnvp. Default: cnf translation_only sign_breaking realnvp.
# Settings (environment): SIZES (6 12), BUDGET (seconds per training run; BUDGET_<size> overrides it for one size),
# RANKS (2), MH_STEPS (MH steps per chain, 4 chains per rank; 5000), OUT (runs/compare), PHI4FLOW (the binary),
# LAUNCHER (how to start ranks; default mpiexec -n RANKS; jobs/compare.sbatch uses srun). A model already trained
# in OUT (its <model>.done marker) is skipped, so an interrupted comparison continues where it stopped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
phi4flow=${PHI4FLOW:-$root/build/src/phi4flow}
sizes=${SIZES:-6 12}
ranks=${RANKS:-2}
mh_steps=${MH_STEPS:-5000}
out=${OUT:-$root/runs/compare}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
read -r -a launcher <<<"${LAUNCHER:-mpiexec -n $ranks --oversubscribe}"
[ -x "$phi4flow" ] || { echo "compare_models.sh: $phi4flow not found; build first (tools/build.sh)" >&2; exit 2; }

# Each model: its [flow] keys. All train with the input file's recipe (same prior, loss, optimiser and schedule;
# the L = 6 recipe check in docs/comparison.md found nothing better for RealNVP) and the total gradient, the
# estimator both model families have (train.gradient = path is the equivariant flow's alone).
declare -A models=(
  [cnf]=""
  [translation_only]="--flow.translation_only=true"
  [sign_breaking]="--flow.sign_breaking=true"
  [no_symmetry]="--flow.translation_only=true --flow.sign_breaking=true"
  [realnvp]="--flow.model=realnvp"
)
chosen=("$@")
[ ${#chosen[@]} -eq 0 ] && chosen=(cnf translation_only sign_breaking realnvp)
for model in "${chosen[@]}"; do
  [ -n "${models[$model]+set}" ] || { echo "compare_models.sh: unknown model '$model' (${!models[*]})" >&2; exit 2; }
done

for L in $sizes; do
  config=$root/input/L$L.ini
  [ -f "$config" ] || { echo "compare_models.sh: no input file $config" >&2; exit 2; }
  budget_var=BUDGET_$L
  budget=${!budget_var:-${BUDGET:-600}}
  dir=$out/L$L
  mkdir -p "$dir"
  # Configurations for the symmetry measurement: a short HMC ensemble (thermalised, fields stored).
  if [ ! -f "$dir/hmc.h5" ]; then
    "$phi4flow" hmc --config "$config" --force --hmc.output="$dir/hmc.h5" --hmc.thermalisation=1000 \
      --hmc.trajectories=600 --hmc.chains_per_rank=2 --hmc.store_fields=true --run.progress_interval=60 > "$dir/hmc.log"
  fi
  for model in "${chosen[@]}"; do
    [ -f "$dir/$model.done" ] && { echo "== L = $L, $model: done before, skipped"; continue; }
    echo "== L = $L, $model: training for $budget s on $ranks ranks"
    read -r -a args <<<"${models[$model]}"
    "${launcher[@]}" "$phi4flow" train --config "$config" --force "${args[@]}" --train.gradient=total \
      --train.steps=100000000 \
      --train.time_limit="$budget" --train.checkpoint="$dir/$model.h5" > "$dir/$model.train.log"
    tail -2 "$dir/$model.train.log"
    "${launcher[@]}" "$phi4flow" sample --config "$config" --force "${args[@]}" --checkpoint="$dir/$model.h5" \
      --sample.output="$dir/$model.mh.h5" --sample.steps="$mh_steps" --sample.store_fields=false \
      --run.progress_interval=60 > "$dir/$model.mh.log"
    tail -1 "$dir/$model.mh.log"
    "$phi4flow" symmetry --config "$config" --force "${args[@]}" --checkpoint="$dir/$model.h5" --ensemble="$dir/hmc.h5" \
      --configs=6 --output="$dir/$model.symmetry.h5" > "$dir/$model.symmetry.log"
    tail -2 "$dir/$model.symmetry.log" | head -1
    touch "$dir/$model.done"
  done
done
echo "results in $out; table and figures: /usr/bin/python3 $root/tools/plot_comparison.py $out"
