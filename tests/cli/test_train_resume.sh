#!/usr/bin/env bash
# Training interrupted and resumed from its checkpoint ends with the same parameters and Adam moments, bit for
# bit, as an uninterrupted run, on 1 and on 2 ranks, for both models and both gradient estimators; a checkpoint from another model kind,
# hyperparameters, theory or training solver is refused by name; the solver is free when sampling; a next stage
# (train.init_from) starts from a checkpoint's parameters, also one from a smaller lattice.
set -euo pipefail
phi4flow=${1:?usage: test_train_resume.sh PHI4FLOW MPIEXEC}
mpiexec=${2:?}
source "$(dirname "$0")/common.sh"
input=$inputs/L6.ini
base=(--config "$input" --lattice.L=4 --flow.time_basis=4 --flow.ode_steps=6 --train.ess_every=5
      --train.ess_samples=16 --train.checkpoint_every=7)
# The training solver is pinned, whatever the input file chooses, so that the refusals below can change it.
solver=(--train.ode_steps=0 --flow.precision=double)
cnf=(--flow.frequencies=3 --train.batch_size=8 --action.lam=6.975 --train.gradient=total)
cnf_path=(--flow.frequencies=3 --train.batch_size=8 --action.lam=6.975 --train.gradient=path)
realnvp=(--flow.model=realnvp --train.gradient=total --flow.coupling_layers=4 --flow.hidden_channels=4 --train.batch_size=8 --action.lam=6.975)

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

for model in cnf cnf_path realnvp; do
  declare -n model_args=$model
  for ranks in 1 2; do
    run=("$mpiexec" -n "$ranks" --oversubscribe "$phi4flow" train "${base[@]}" "${solver[@]}" "${model_args[@]}")
    "${run[@]}" --train.steps=30 --train.checkpoint="$tmp/${model}_straight$ranks.h5" > /dev/null
    "${run[@]}" --train.steps=16 --train.checkpoint="$tmp/${model}_resumed$ranks.h5" > /dev/null
    "${run[@]}" --train.steps=30 --train.checkpoint="$tmp/${model}_resumed$ranks.h5" --resume > "$tmp/resume.log"
    grep -q "resuming at step 16" "$tmp/resume.log" || { echo "FAIL: did not resume at step 16"; cat "$tmp/resume.log"; exit 1; }
    echo -n "$model, $ranks ranks: "
    compare "$tmp/${model}_straight$ranks.h5" "$tmp/${model}_resumed$ranks.h5"
    # History: the steps 5, 10, 15 and the end of the first run (16), then 20, 25, 30: none repeated.
    steps=$(cut -d, -f1 "$tmp/${model}_resumed$ranks.history.csv" | grep '^[0-9]' | tr '\n' ' ')
    [ "$steps" = "5 10 15 16 20 25 30 " ] || { echo "FAIL: history steps are '$steps'"; exit 1; }
  done
done

# A checkpoint is only resumed or sampled by the model and theory it was trained for.
expect_refusal() {
  local needle=$1 checkpoint=$2
  shift 2
  if out=$("$phi4flow" train "${base[@]}" --train.steps=40 --train.checkpoint="$checkpoint" --resume "$@" 2>&1); then
    echo "FAIL: resume with $* was accepted"; exit 1
  fi
  grep -qF "$needle" <<<"$out" || { echo "FAIL: refusal does not name $needle: $out"; exit 1; }
  echo "refused ($*): $(head -1 <<<"$out")"
}
cnf_checkpoint=$tmp/cnf_straight1.h5 realnvp_checkpoint=$tmp/realnvp_straight1.h5
expect_refusal "frequencies" "$cnf_checkpoint" --flow.frequencies=4 --train.batch_size=8 --action.lam=6.975
expect_refusal "lam" "$cnf_checkpoint" --flow.frequencies=3 --train.batch_size=8 --action.lam=5.0
expect_refusal "batch_size" "$cnf_checkpoint" --flow.frequencies=3 --train.batch_size=10 --action.lam=6.975
expect_refusal "set flow.model = equivariant_cnf" "$cnf_checkpoint" "${realnvp[@]}"
expect_refusal "set flow.model = realnvp" "$realnvp_checkpoint" "${cnf[@]}"
expect_refusal "hidden_channels" "$realnvp_checkpoint" --flow.model=realnvp --train.gradient=total --flow.coupling_layers=4 --flow.hidden_channels=5 \
  --train.batch_size=8 --action.lam=6.975
# The solver settings of training are part of the optimisation: a resume must keep them.
expect_refusal "ode_steps" "$cnf_checkpoint" "${cnf[@]}" --train.ode_steps=3 --flow.precision=double
expect_refusal "precision" "$cnf_checkpoint" "${cnf[@]}" --train.ode_steps=0 --flow.precision=single
expect_refusal "gradient" "$cnf_checkpoint" "${cnf_path[@]}" "${solver[@]}"
expect_refusal "lr_warmup_steps" "$cnf_checkpoint" "${cnf[@]}" "${solver[@]}" --train.lr_warmup_steps=5
# ...but they are not the model: parameters trained with 3 RK4 steps and float sin/cos sample with 6 in double.
"$phi4flow" train "${base[@]}" "${cnf[@]}" --train.steps=10 --train.ode_steps=3 --flow.precision=single \
  --train.checkpoint="$tmp/coarse.h5" > /dev/null
"$phi4flow" sample "${base[@]}" "${cnf[@]}" --flow.precision=double --checkpoint="$tmp/coarse.h5" --sample.steps=20 \
  --sample.thermalisation=5 \
  --sample.output="$tmp/coarse_sample.h5" > "$tmp/coarse_sample.log" ||
  { echo "FAIL: a model trained with train.ode_steps = 3 did not sample with flow.ode_steps = 6"; cat "$tmp/coarse_sample.log"; exit 1; }
echo "sampled with 6 RK4 steps in double a model trained with 3 in single"
# A next stage (train.init_from) starts from a checkpoint's parameters with a fresh optimiser: after one step at a
# vanishing learning rate the parameters are the checkpoint's, bit for bit. It needs its own seed and the same model.
"$phi4flow" train "${base[@]}" "${cnf[@]}" --run.seed=77 --train.steps=1 --train.lr=1e-30 \
  --train.init_from="$cnf_checkpoint" --train.checkpoint="$tmp/stage2.h5" > /dev/null
/usr/bin/python3 - "$cnf_checkpoint" "$tmp/stage2.h5" <<'PY'
import os, sys
os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
import h5py, numpy as np
source, stage = (h5py.File(p, "r") for p in sys.argv[1:3])
assert np.array_equal(source["arrays/parameters"][()], stage["arrays/parameters"][()]), "parameters did not carry over"
assert stage["counters"].attrs["step"] == 1, "the stage does not start at step 0"
assert stage["training"].attrs["init_from"] == sys.argv[1], "the stage does not record its start"
print("next stage starts from the checkpoint's parameters at step 0")
PY
# Where a start is: on the command line a relative path is the working directory's; in the input file it is
# relative to the file's folder, so that the input files' starts from the shipped models (input/L20.ini from
# models/L12.h5, L32.ini from L20.h5) work from any directory; none starts from the identity instead; a missing
# start is refused by name.
(cd "$(dirname "$cnf_checkpoint")" && "$phi4flow" train "${base[@]}" "${cnf[@]}" --run.seed=77 --train.steps=1 \
  --train.lr=1e-30 --train.init_from="$(basename "$cnf_checkpoint")" --train.checkpoint="$tmp/relative.h5" > /dev/null)
/usr/bin/python3 - "$cnf_checkpoint" "$tmp/relative.h5" <<'PY'
import os, sys
os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
import h5py, numpy as np
cnf, relative = (h5py.File(p, "r") for p in sys.argv[1:3])
assert relative["training"].attrs["init_from"] == os.path.basename(sys.argv[1]), "a relative command-line start moved"
assert np.array_equal(cnf["arrays/parameters"][()], relative["arrays/parameters"][()])
print("a relative train.init_from on the command line is the working directory's")
PY
tiny=(--train.lr=1e-30 --train.batch_size=4 --train.ess_samples=8 --train.ess_every=1
      --train.ode_steps=9 --train.checkpoint_every=1)
for ini in "$inputs"/*.ini; do
  start=$(sed -n 's/^init_from *= *//p' "$ini")
  [ -n "$start" ] || continue
  name=$(basename "$ini" .ini)
  (cd "$tmp" && "$phi4flow" train --config "$ini" "${tiny[@]}" --train.steps=1 --train.checkpoint="$tmp/start_$name.h5" \
    > /dev/null)
  # A resumed run keeps its start in the record, whatever train.init_from says now.
  (cd "$tmp" && "$phi4flow" train --config "$ini" "${tiny[@]}" --train.steps=2 --train.init_from=none --resume \
    --train.checkpoint="$tmp/start_$name.h5" > /dev/null)
  (cd "$tmp" && "$phi4flow" train --config "$ini" "${tiny[@]}" --train.steps=1 --train.init_from=none \
    --train.checkpoint="$tmp/identity_$name.h5" > /dev/null)
  /usr/bin/python3 - "$(cd "$inputs/$(dirname "$start")" && pwd)/$(basename "$start")" "$tmp/start_$name.h5" \
    "$tmp/identity_$name.h5" <<'PY'
import os, sys
os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
import h5py, numpy as np
source_path, start_path = sys.argv[1:3]
source, start, identity = (h5py.File(p, "r") for p in sys.argv[1:4])
assert start["training"].attrs["init_from"] == source_path, f"the input file's start is {start['training'].attrs['init_from']}"
assert start["counters"].attrs["step"] == 2, "the start was not resumed"
n = len(source["arrays/parameters"])
# The smaller lattice's kernel at r = 0 and its frequencies carry over.
assert np.array_equal(source["arrays/parameters"][-9:], start["arrays/parameters"][-9:]), "omega did not carry over"
assert np.count_nonzero(start["arrays/parameters"][()]) > n // 2, "the start is not the shipped flow"
assert "init_from" not in identity["training"].attrs, "init_from = none still records a start"
assert np.max(np.abs(identity["arrays/parameters"][:-9])) < 1e-25, "init_from = none did not start at the identity"
print(f"{os.path.basename(start_path)}: starts from {source_path}, and from the identity with init_from = none")
PY
done
# A flow trained without flow.linear_term starts one with it: the phi feature's kernel column starts at 0 (so
# that the flow is the source's: test_flow), the rest is the source's.
"$phi4flow" train "${base[@]}" "${cnf[@]}" --run.seed=76 --train.steps=1 --train.lr=1e-30 --flow.linear_term=true \
  --train.init_from="$cnf_checkpoint" --train.checkpoint="$tmp/linear.h5" > /dev/null
/usr/bin/python3 - "$cnf_checkpoint" "$tmp/linear.h5" <<'PY'
import os, sys
os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
import h5py, numpy as np
source, linear = (h5py.File(p, "r") for p in sys.argv[1:3])
p0, p1 = source["arrays/parameters"][()], linear["arrays/parameters"][()]
F = 3
assert linear["model"].attrs["linear_term"] == 1, "the new run does not record flow.linear_term"
theta0, theta1 = p0[:-F].reshape(-1, F), p1[:-F].reshape(-1, F + 1)
assert theta0.shape[0] == theta1.shape[0], "the kernels have different rows"
# One step at lr = 1e-30 moves the zero column by about 1e-30, and nothing else.
assert np.array_equal(theta1[:, :F], theta0), "the kernel did not carry over"
assert np.max(np.abs(theta1[:, F])) < 1e-25, f"the phi column starts at {np.max(np.abs(theta1[:, F]))}, not 0"
assert np.array_equal(p0[-F:], p1[-F:]), "omega did not carry over"
print("a flow trained without flow.linear_term starts one with it")
PY
# A start is refused with a message naming the fix: the same seed as its source, another model kind.
refuse_start() {
  local needle=$1
  shift
  if out=$("$phi4flow" train "$@" --train.steps=1 --train.checkpoint="$tmp/refused.h5" --force 2>&1); then
    echo "FAIL: train.init_from with $* was accepted"; exit 1
  fi
  grep -qF "$needle" <<<"$out" || { echo "FAIL: init_from refusal does not name $needle: $out"; exit 1; }
  echo "refused (init_from: $needle): $(head -1 <<<"$out")"
}
refuse_start "run.seed" "${base[@]}" "${cnf[@]}" --train.init_from="$cnf_checkpoint"
refuse_start "set flow.model = realnvp" "${base[@]}" "${cnf[@]}" --run.seed=77 --train.init_from="$realnvp_checkpoint"
refuse_start "linear_term" "${base[@]}" "${cnf[@]}" --run.seed=75 --train.init_from="$tmp/linear.h5"
refuse_start "train.init_from = 'missing.h5' does not exist" "${base[@]}" "${cnf[@]}" --run.seed=74 \
  --train.init_from=missing.h5
# A flow trained on L = 4 starts training on L = 6 at other couplings: its kernel carries over by displacement
# (the mapping itself is tested in test_flow); omega and the kernel at r = 0 (orbit 0 on both lattices) are the
# source's.
base6=("${base[@]/--lattice.L=4/--lattice.L=6}")
cnf6=("${cnf[@]/--action.lam=6.975/--action.lam=5.5}")
"$phi4flow" train "${base6[@]}" "${cnf6[@]}" --run.seed=78 --train.steps=1 --train.lr=1e-30 \
  --train.init_from="$cnf_checkpoint" --train.checkpoint="$tmp/larger.h5" > /dev/null
/usr/bin/python3 - "$cnf_checkpoint" "$tmp/larger.h5" <<'PY'
import os, sys
os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
import h5py, numpy as np
source, larger = (h5py.File(p, "r") for p in sys.argv[1:3])
p4, p6 = source["arrays/parameters"][()], larger["arrays/parameters"][()]
F, row = 3, 4 * 3  # frequencies, time_basis * frequencies
assert larger["model"].attrs["L"] == 6 and len(p6) > len(p4), "the new run is not on L = 6"
assert np.array_equal(p4[-F:], p6[-F:]), "omega did not carry over"
assert np.array_equal(p4[:row], p6[:row]), "the kernel at r = 0 did not carry over"
assert np.any(p6[row:-F] != 0), "the rest of the kernel is still zero"
print("a flow trained on L = 4 starts training on L = 6")
PY
"$phi4flow" train "${base6[@]}" "${cnf6[@]}" --run.seed=79 --train.steps=2 --train.checkpoint="$tmp/L6.h5" > /dev/null
refuse_start "at most as large" "${base[@]}" "${cnf[@]}" --run.seed=80 --train.init_from="$tmp/L6.h5"
refuse_start "frequencies" "${base6[@]}" --flow.frequencies=4 --train.batch_size=8 --action.lam=5.5 --run.seed=80 \
  --train.init_from="$cnf_checkpoint"
refuse_start "another lattice size" "${base6[@]}" "${realnvp[@]}" --run.seed=80 --train.init_from="$realnvp_checkpoint"
if out=$("$phi4flow" sample "${base[@]}" "${cnf[@]}" --checkpoint="$realnvp_checkpoint" --sample.output="$tmp/s.h5" 2>&1); then
  echo "FAIL: sampling a realnvp checkpoint as equivariant_cnf was accepted"; exit 1
fi
grep -qF "set flow.model = realnvp" <<<"$out" || { echo "FAIL: sample refusal does not name flow.model: $out"; exit 1; }
echo "refused (sample realnvp checkpoint as equivariant_cnf): $(head -1 <<<"$out")"
echo "PASS"
