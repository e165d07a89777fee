#!/usr/bin/env bash
# A run whose numbers blow up stops with exit status 2, the step, and the setting to lower, keeping what it had
# saved: an HMC step size far too large (non-finite energy violation), a training learning rate far too large
# (non-finite loss).
set -euo pipefail
phi4flow=${1:?usage: test_divergence.sh PHI4FLOW}
source "$(dirname "$0")/common.sh"
sed "s#@OUT@#$tmp#" "$here/reference_run.ini" > "$tmp/in.ini"
failures=0
expect_stop() {  # expect_stop NAME REGEX command...
  local name=$1 regex=$2
  shift 2
  local status=0
  "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" || status=$?
  if [ "$status" -ne 2 ] || ! grep -Eq "$regex" "$tmp/$name.err"; then
    echo "FAIL $name: exit $status, stderr:" >&2
    cat "$tmp/$name.err" >&2
    failures=$((failures + 1))
  else
    echo "ok   $name: $(cat "$tmp/$name.err")"
  fi
}

# HMC: a step size of 10 overflows the energy at once; the file stays a valid ensemble with no records.
expect_stop hmc_diverges "non-finite at trajectory [0-9]+.*hmc\.leapfrog_steps" \
  "$phi4flow" hmc --config "$tmp/in.ini" --hmc.trajectory_length=200 --hmc.leapfrog_steps=20
/usr/bin/python3 - "$tmp/hmc.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert int(f["configs"].attrs["n_complete"]) == 0, "a diverged run committed records"
PY

# Training at lr 1e12 checkpointing every step: step 1 is finite, step 2's gradient is not. The run stops
# naming step 2 and train.lr, and the checkpoint keeps step 1 with finite parameters.
expect_stop train_diverges "loss became .*nan.* at step 2: lower train\.lr.*step 1" \
  "$phi4flow" train --config "$tmp/in.ini" --train.lr=1e12 --train.steps=20 --train.checkpoint_every=1 \
  --train.ess_every=1
/usr/bin/python3 - "$tmp/flow.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    assert int(f["counters"].attrs["step"]) == 1, f"checkpoint at step {f['counters'].attrs['step']}, want 1"
    for name in ("parameters", "adam_m", "adam_v"):
        assert np.all(np.isfinite(f["arrays/" + name][()])), f"non-finite {name} in the kept checkpoint"
PY
[ "$failures" -eq 0 ]
