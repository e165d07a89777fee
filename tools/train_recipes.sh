#!/usr/bin/env bash
# Training recipes compared at equal wall-clock budgets (results in docs/flow.md):
#   BUDGET=300 LATTICE=L6 bash tools/train_recipes.sh [recipe ...]
#   BUDGET=720 LATTICE=L20 RANKS=1 bash tools/train_recipes.sh default linear batch200 lr2x ode18
#   (input/L20.ini starts from models/L12.h5; COMMON="--train.init_from=none" would start from the identity)
# Each recipe trains input/$LATTICE.ini on $RANKS ranks (default 2) for $BUDGET seconds (train.time_limit) into
# runs/recipes/$LATTICE/<recipe>$TAG.h5 with its ESS history, with the arguments $COMMON added to every recipe's;
# then tools/plot_training.py draws the ESS curves.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHI4FLOW_BUILD_DIR:-$root/build}
lattice=${LATTICE:-L6}
budget=${BUDGET:-300}
ranks=${RANKS:-2}
common=${COMMON:-}
tag=${TAG:-}
out=$root/runs/recipes/$lattice
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

declare -A recipes=(
  [paper]="--train.lr=1e-3 --train.lr_schedule=step --train.lr_step_at=250 --train.lr_step_factor=0.1 --train.beta1=0.9 --train.beta2=0.999 --train.gradient=total"
  [default]=""
  [total]="--train.gradient=total"
  [fast]="--train.lr=1e-2 --train.lr_decade_steps=2000"
  [batch1000]="--train.batch_size=1000 --train.lr=1e-2 --train.lr_decade_steps=1000"
  [batch400]="--train.batch_size=400"
  [double54]="--train.ode_steps=0 --flow.precision=double"
  # L >= 20, from a smaller lattice's flow as the input file says: one change each to input/L20.ini's recipe
  [linear]="--flow.linear_term=true"
  [batch200]="--train.batch_size=200"
  [lr2x]="--train.lr=4e-3"
  [ode18]="--train.ode_steps=18"
)
chosen=("$@")
[ ${#chosen[@]} -eq 0 ] && chosen=(paper default fast batch1000)
for name in "${chosen[@]}"; do
  echo "== $lattice, recipe $name$tag: ${recipes[$name]:-input file defaults} $common, $budget s"
  # shellcheck disable=SC2086
  mpiexec -n "$ranks" --oversubscribe "$build/src/phi4flow" train --config "$root/input/$lattice.ini" --force \
    --train.steps=1000000 --train.time_limit="$budget" --train.checkpoint="$out/$name$tag.h5" ${recipes[$name]} \
    $common | tail -3
done
/usr/bin/python3 "$root/tools/plot_training.py" --output "$out/ess.png" "$out"/*.history.csv
