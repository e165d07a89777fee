#!/usr/bin/env bash
# Training interrupted and resumed from its checkpoint ends with the same parameters and Adam moments, bit for
# bit, as an uninterrupted run, on 1 and on 2 ranks; a checkpoint from another model or theory is refused by name.
set -euo pipefail
phi4flow=${1:?usage: test_train_resume.sh PHI4FLOW MPIEXEC}
mpiexec=${2:?}
here=$(cd "$(dirname "$0")" && pwd)
input=$here/../../input/L6.ini
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
base=(--config "$input" --lattice.L=4 --flow.time_basis=4 --flow.ode_steps=6 --train.ess_every=5
      --train.ess_samples=16 --train.checkpoint_every=7)
small=("${base[@]}" --flow.frequencies=3 --train.batch_size=8 --action.lam=6.975)

compare() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import os, sys
os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
import h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
assert a["counters"].attrs["step"] == b["counters"].attrs["step"], "steps differ"
for name in ("parameters", "adam_m", "adam_v"):
    x, y = a["arrays"][name][()], b["arrays"][name][()]
    assert np.array_equal(x, y), f"{name} differs: max |diff| {np.max(np.abs(x - y))}"
print(f"identical after step {a['counters'].attrs['step']}: parameters, adam_m, adam_v")
PY
}

for ranks in 1 2; do
  run=("$mpiexec" -n "$ranks" --oversubscribe "$phi4flow" train "${small[@]}")
  "${run[@]}" --train.steps=30 --train.checkpoint="$tmp/straight$ranks.h5" > /dev/null
  "${run[@]}" --train.steps=16 --train.checkpoint="$tmp/resumed$ranks.h5" > /dev/null
  "${run[@]}" --train.steps=30 --train.checkpoint="$tmp/resumed$ranks.h5" --resume > "$tmp/resume.log"
  grep -q "resuming at step 16" "$tmp/resume.log" || { echo "FAIL: did not resume at step 16"; cat "$tmp/resume.log"; exit 1; }
  compare "$tmp/straight$ranks.h5" "$tmp/resumed$ranks.h5"
  # History: the steps 5, 10, 15 and the end of the first run (16), then 20, 25, 30: none repeated.
  steps=$(cut -d, -f1 "$tmp/resumed$ranks.history.csv" | grep '^[0-9]' | tr '\n' ' ')
  [ "$steps" = "5 10 15 16 20 25 30 " ] || { echo "FAIL: history steps are '$steps'"; exit 1; }
done

# A checkpoint is only resumed by the model and theory it was trained for.
expect_refusal() {
  local needle=$1
  shift
  if out=$("$phi4flow" train "${base[@]}" --train.steps=40 --train.checkpoint="$tmp/straight1.h5" --resume "$@" 2>&1); then
    echo "FAIL: resume with $* was accepted"; exit 1
  fi
  grep -qF "$needle" <<<"$out" || { echo "FAIL: refusal does not name $needle: $out"; exit 1; }
  echo "refused ($*): $(head -1 <<<"$out")"
}
expect_refusal "frequencies" --flow.frequencies=4 --train.batch_size=8 --action.lam=6.975
expect_refusal "lam" --flow.frequencies=3 --train.batch_size=8 --action.lam=5.0
expect_refusal "batch_size" --flow.frequencies=3 --train.batch_size=10 --action.lam=6.975
echo "PASS"
