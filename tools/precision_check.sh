#!/usr/bin/env bash
# flow.precision = single against double on a trained model: solver-error (log q of the same latent samples in both
# precisions, and against 4x the steps in double), then Metropolis-Hastings runs with each precision from the same
# seed, compared by phi4flow analyze --compare: acceptance and observables must agree within their errors.
#   bash tools/precision_check.sh INPUT CHECKPOINT [STEPS]      # e.g. input/L12.ini runs/L12/flow.h5 4000
# Results and commands: docs/flow.md ("the flow in float"). RANKS (default 2) ranks, 4 chains each.
set -euo pipefail
input=${1:?usage: precision_check.sh INPUT CHECKPOINT [STEPS]}
checkpoint=${2:?usage: precision_check.sh INPUT CHECKPOINT [STEPS]}
steps=${3:-4000}
root=$(cd "$(dirname "$0")/.." && pwd)
phi4flow=${PHI4FLOW:-$root/build/src/phi4flow}
ranks=${RANKS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

"$phi4flow" solver-error --config "$input" --train.checkpoint="$checkpoint" --flow.precision=single --samples 500
for precision in single double; do
  mpiexec -n "$ranks" "$phi4flow" sample --config "$input" --checkpoint "$checkpoint" --flow.precision="$precision" \
    --sample.chains_per_rank=4 --sample.thermalisation=100 --sample.steps="$steps" --sample.store_fields=false \
    --sample.output="$tmp/mh_$precision.h5" --force | grep "done in"
done
# Both side by side, with the differences in units of their combined error.
"$phi4flow" analyze --ensemble "$tmp/mh_single.h5" --compare "$tmp/mh_double.h5" --discard 10
