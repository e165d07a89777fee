#!/usr/bin/env bash
# Flow Metropolis-Hastings (phi4flow sample) on a tiny trained model: the chains do not depend on the proposal
# batch size or on the number of ranks (bit for bit: 1 rank x 4 chains = 2 ranks x 2, 1 rank x 6 = 3 ranks x 2); a run killed with SIGKILL, or stopped by SIGTERM, and resumed
# equals an uninterrupted one record for record; a checkpoint for another lattice or coupling, a missing one and a
# corrupt one are refused by name; without a trained checkpoint the input's shipped model is sampled, and every
# input file's shipped model samples with that input file.
set -euo pipefail
phi4flow=${1:?usage: test_sample.sh PHI4FLOW MPIEXEC}
mpiexec=${2:?}
source "$(dirname "$0")/common.sh"
input=$inputs/L6.ini
model=(--config "$input" --lattice.L=4 --flow.time_basis=4 --flow.frequencies=3 --flow.ode_steps=6)
"$phi4flow" train "${model[@]}" --train.steps=20 --train.batch_size=8 --train.ess_samples=16 --train.ess_every=10 \
  --train.checkpoint="$tmp/flow.h5" > /dev/null
common=("${model[@]}" --train.checkpoint="$tmp/flow.h5" --sample.thermalisation=50 --sample.flush_every=300
        --run.progress_interval=0.05)
records=2000

"$phi4flow" sample "${common[@]}" --sample.steps=$records --sample.chains_per_rank=4 --sample.batch_size=64 \
  --sample.output="$tmp/reference.h5" > "$tmp/reference.log"
grep -q "done in" "$tmp/reference.log" || { echo "FAIL: reference run"; cat "$tmp/reference.log"; exit 1; }
"$phi4flow" sample "${common[@]}" --sample.steps=$records --sample.chains_per_rank=4 --sample.batch_size=7 \
  --sample.output="$tmp/batch7.h5" > /dev/null
/usr/bin/python3 "$here/compare_ensembles.py" "$tmp/reference.h5" "$tmp/batch7.h5" "$records"
"$mpiexec" -n 2 --oversubscribe "$phi4flow" sample "${common[@]}" --sample.steps=$records --sample.chains_per_rank=2 \
  --sample.batch_size=64 --sample.output="$tmp/two_ranks.h5" > /dev/null
/usr/bin/python3 "$here/compare_ensembles.py" "$tmp/reference.h5" "$tmp/two_ranks.h5" "$records"
# 3 ranks x 2 chains (proposal batches of 5: rounds of 2 steps per chain, padded) against 1 rank x 6 chains.
"$phi4flow" sample "${common[@]}" --sample.steps=$records --sample.chains_per_rank=6 --sample.batch_size=64 \
  --sample.output="$tmp/six_chains.h5" > /dev/null
"$mpiexec" -n 3 --oversubscribe "$phi4flow" sample "${common[@]}" --sample.steps=$records --sample.chains_per_rank=2 \
  --sample.batch_size=5 --sample.output="$tmp/three_ranks.h5" > /dev/null
/usr/bin/python3 "$here/compare_ensembles.py" "$tmp/six_chains.h5" "$tmp/three_ranks.h5" "$records"
/usr/bin/python3 - "$tmp/reference.h5" "$tmp/flow.h5" <<'PY'
import hashlib, os, sys
os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    alg = f["algorithm"].attrs
    assert alg["name"] == "flow-mh", alg["name"]
    assert alg["checkpoint_sha256"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest(), "sha256 differs"
    acc = f["records/accepted"][()]
    lw, plw = f["records/log_w"][()], f["records/proposal_log_w"][()]
    # An accepted proposal becomes the state; a rejected one leaves the previous state.
    assert np.array_equal(lw[acc == 1], plw[acc == 1]), "accepted proposals are not the new states"
    assert np.array_equal(lw[:, 1:][acc[:, 1:] == 0], lw[:, :-1][acc[:, 1:] == 0]), "a rejection moved the chain"
    print(f"flow-mh file: checkpoint sha256 recorded, acceptance {acc.mean():.3f}, states follow the MH decisions")
PY

# analyze: acceptance, ESS of the proposals and reweighted estimates; --compare of two identical ensembles gives
# zero differences.
"$phi4flow" analyze "$tmp/reference.h5" --compare "$tmp/two_ranks.h5" > "$tmp/analyze.log"
for needle in "acceptance" "ESS" "reweighted from them" "chi2 (reweighted)" "m_p L (reweighted)" "(A-B)/err"; do
  grep -qF "$needle" "$tmp/analyze.log" || { echo "FAIL: analyze output lacks '$needle'"; cat "$tmp/analyze.log"; exit 1; }
done
grep -E '^(chi2|m_p L)' "$tmp/analyze.log" | tail -4 | awk '{ if ($NF != "0.00") { print "FAIL: nonzero difference: " $0; exit 1 } }'
[ -s "$tmp/reference.results.json" ] && [ -s "$tmp/two_ranks.results.json" ] || { echo "FAIL: no results files"; exit 1; }
echo "analyze: $(grep -F 'proposals:' "$tmp/analyze.log" | head -1)"
/usr/bin/python3 "$here/../../tools/plot_results.py" --flow "$tmp/reference.h5" --hmc "$tmp/two_ranks.h5" \
  --output "$tmp/results.png" > /dev/null
[ -s "$tmp/results.png" ] || { echo "FAIL: tools/plot_results.py drew nothing"; exit 1; }

# Start a longer run (default batch size) and send `signal` once it is well past its first flushed blocks.
long=("${common[@]}" --sample.steps=20000 --sample.chains_per_rank=4)
long_records=20000
"$phi4flow" sample "${long[@]}" --sample.output="$tmp/long.h5" > /dev/null
source "$here/signal_run.sh"
start_and_signal() {
  signal_run "$1" "$tmp/$2.log" '^sample: step \([0-9]*\)\/.*' 4000 \
    "$phi4flow" sample "${long[@]}" --sample.output="$tmp/$2.h5"
}
start_and_signal KILL killed
"$phi4flow" sample "${long[@]}" --sample.output="$tmp/killed.h5" --resume > "$tmp/resumed.log"
grep -q "resuming at step" "$tmp/resumed.log" || { echo "FAIL: resume started from scratch" >&2; exit 1; }
/usr/bin/python3 "$here/compare_ensembles.py" "$tmp/long.h5" "$tmp/killed.h5" "$long_records"
start_and_signal TERM terminated
[ "$status" -eq 3 ] || { echo "FAIL: SIGTERM gave exit status $status, expected 3" >&2; exit 1; }
grep -q "continue with --resume" "$tmp/terminated.log" || { echo "FAIL: no resume hint after SIGTERM" >&2; exit 1; }
"$phi4flow" sample "${long[@]}" --sample.output="$tmp/terminated.h5" --resume --sample.batch_size=5 > /dev/null
/usr/bin/python3 "$here/compare_ensembles.py" "$tmp/long.h5" "$tmp/terminated.h5" "$long_records"

# Refusals: exit status 2 and a message naming the quantity or the file.
expect_refusal() {
  local needle=$1
  shift
  local out status=0
  out=$("$phi4flow" sample "$@" 2>&1) || status=$?
  [ "$status" -eq 2 ] || { echo "FAIL: sample $* gave status $status: $out" >&2; exit 1; }
  grep -qF -- "$needle" <<<"$out" || { echo "FAIL: refusal does not name $needle: $out" >&2; exit 1; }
  echo "refused ($needle): $(head -1 <<<"$out")"
}
fresh=(--sample.output="$tmp/refused.h5")
expect_refusal "has lam =" "${common[@]}" "${fresh[@]}" --action.lam=5.0
expect_refusal "has L =" --config "$input" --lattice.L=6 --flow.time_basis=4 --flow.frequencies=3 --flow.ode_steps=6 \
  --train.checkpoint="$tmp/flow.h5" "${fresh[@]}"
expect_refusal "$tmp/missing.h5" "${common[@]}" "${fresh[@]}" --checkpoint="$tmp/missing.h5"
echo "garbage" > "$tmp/corrupt.h5"
expect_refusal "$tmp/corrupt.h5" "${common[@]}" "${fresh[@]}" --checkpoint="$tmp/corrupt.h5"
expect_refusal "sample.batch_size" "${common[@]}" "${fresh[@]}" --sample.batch_size=0
[ -e "$tmp/refused.h5" ] && { echo "FAIL: a refused run created its output" >&2; exit 1; }
# Resuming with another seed, or from another model, would splice two different chains.
expect_refusal "seed" "${long[@]}" --sample.output="$tmp/killed.h5" --resume --run.seed=99
cp "$tmp/flow.h5" "$tmp/other.h5"
"$phi4flow" train "${model[@]}" --train.steps=21 --train.batch_size=8 --train.ess_samples=16 --train.ess_every=10 \
  --train.checkpoint="$tmp/other.h5" > /dev/null --force
expect_refusal "checkpoint_sha256" "${long[@]}" --sample.output="$tmp/killed.h5" --resume --checkpoint="$tmp/other.h5"

# The shipped model: with no --checkpoint and no file at train.checkpoint, sample takes sample.shipped_model,
# in the input file relative to its folder (run from another directory), on the command line to the working
# directory; with none of the three, the refusal names them.
mkdir -p "$tmp/inputs/models" "$tmp/elsewhere"
sed 's|^shipped_model *=.*|shipped_model = models/shipped.h5|' "$input" > "$tmp/inputs/in.ini"
cp "$tmp/flow.h5" "$tmp/inputs/models/shipped.h5"
shipped=(--config "$tmp/inputs/in.ini" --lattice.L=4 --flow.time_basis=4 --flow.frequencies=3 --flow.ode_steps=6
         --train.checkpoint="$tmp/not_trained.h5" --sample.steps=20 --sample.thermalisation=0 --sample.chains_per_rank=2)
(cd "$tmp/elsewhere" && "$phi4flow" sample "${shipped[@]}" --sample.output="$tmp/shipped.h5" > "$tmp/shipped.log")
grep -qF "from $tmp/inputs/models/shipped.h5" "$tmp/shipped.log" || {
  echo "FAIL: sample did not take the shipped model" >&2; cat "$tmp/shipped.log"; exit 1; }
expect_refusal "sample.shipped_model = 'models/none.h5'" "${shipped[@]}" \
  --sample.shipped_model=models/none.h5 --sample.output="$tmp/refused.h5"

# Every input file that names a shipped model samples it right after the install: the model matches the input's
# lattice, couplings and [flow] section (a few proposals each, with the input's own solver).
for ini in "$inputs"/*.ini; do
  grep -q "^shipped_model" "$ini" || continue
  name=$(basename "$ini" .ini)
  log=$tmp/shipped_$name.log
  if ! "$phi4flow" sample --config "$ini" --train.checkpoint="$tmp/not_trained.h5" --sample.steps=2 \
      --sample.thermalisation=0 --sample.chains_per_rank=1 --sample.batch_size=2 --sample.store_fields=false \
      --sample.output="$tmp/shipped_$name.h5" > "$log" 2>&1 || ! grep -qF "done in" "$log"; then
    echo "FAIL: sample --config $ini with its shipped model" >&2; cat "$log" >&2; exit 1
  fi
done
echo "PASS"
