#!/usr/bin/env bash
# Every class of bad input stops phi4flow before any work, with exit status 2 and one line on stderr that names
# the key or path at fault; no output file is created.
set -uo pipefail
phi4flow=${1:?usage: test_bad_input.sh PHI4FLOW}
source "$(dirname "$0")/common.sh"
input=$inputs/quickstart.ini
failures=0

# expect_error "what" "text the message must contain" args...
expect_error() {
  local what=$1 needle=$2
  shift 2
  local out status
  out=$("$phi4flow" "$@" 2>&1 >/dev/null)
  status=$?
  if [ $status -ne 2 ] || ! grep -qF -- "$needle" <<<"$out" || [ "$(wc -l <<<"$out")" -ne 1 ]; then
    echo "FAIL ($what): status $status, output: $out" >&2
    failures=$((failures + 1))
  else
    echo "ok   ($what): $(head -1 <<<"$out")"
  fi
}

out=$tmp/out.h5
expect_error "unknown key in file" "hmc.not_a_key" hmc --config <(cat "$input"; printf '[hmc]\nnot_a_key = 3\n') --hmc.output="$out"
expect_error "unknown key on command line" "action.mass" hmc --config "$input" --action.mass=1 --hmc.output="$out"
expect_error "L < 2" "lattice.L" hmc --config "$input" --lattice.L=1 --hmc.output="$out"
expect_error "non-numeric value" "action.lam" hmc --config "$input" --action.lam=abc --hmc.output="$out"
expect_error "lam < 0" "action.lam" hmc --config "$input" --action.lam=-1 --hmc.output="$out"
expect_error "free field with m2 <= 0" "action.m2" hmc --config "$input" --action.lam=0 --hmc.output="$out"
expect_error "negative seed" "run.seed" hmc --config "$input" --run.seed=-5 --hmc.output="$out"
expect_error "bad HMC parameter" "hmc.leapfrog_steps" hmc --config "$input" --hmc.leapfrog_steps=0 --hmc.output="$out"
# Integer keys print as integers ("= 0", not "= 0.000000").
expect_error "integer key printed as an integer" "hmc.leapfrog_steps = 0: must be > 0" hmc --config "$input" --hmc.leapfrog_steps=0 --hmc.output="$out"
expect_error "negative integer printed as an integer" "sample.flush_every = -3: must be > 0" sample --config "$input" --sample.flush_every=-3 --sample.output="$out"
# Every real-valued key must be finite: inf and nan parse as numbers but make a chain that never accepts.
expect_error "lam = inf" "action.lam = inf: must be a finite number" hmc --config "$input" --action.lam=inf --hmc.output="$out"
expect_error "m2 = nan" "action.m2 = nan: must be a finite number" hmc --config "$input" --action.m2=nan --hmc.output="$out"
expect_error "trajectory_length = inf" "hmc.trajectory_length = inf" hmc --config "$input" --hmc.trajectory_length=inf --hmc.output="$out"
expect_error "non-finite real in the file" "action.lam = inf" hmc --config <(sed 's/^lam *=.*/lam = inf/' "$input") --hmc.output="$out"
# Output paths are tried (a probe file is created and removed beside them), not judged by access bits: root may
# write nowhere in /proc, which HDF5 would find out only after the start-up check.
expect_error "hmc output in /proc" "hmc.output = /proc/phi4flow_test.h5" hmc --config "$input" --hmc.output=/proc/phi4flow_test.h5
expect_error "sample output in /proc" "sample.output = /proc/phi4flow_test.h5" sample --config "$input" --sample.output=/proc/phi4flow_test.h5
expect_error "output is a directory" "hmc.output = $tmp: is a directory" hmc --config "$input" --hmc.output="$tmp"
# A lattice too large for the memory stops before any allocation, with the estimate and the keys to lower.
expect_error "hmc: L = 100000" "lattice.L" hmc --config "$input" --lattice.L=100000 --hmc.output="$out"
expect_error "hmc: L = 100000 gives the estimate" "not enough memory: hmc needs about" hmc --config "$input" --lattice.L=100000 --hmc.output="$out"
expect_error "missing input file" "$tmp/missing.ini" hmc --config "$tmp/missing.ini"
expect_error "no input file" "--config" hmc
expect_error "missing required key" "lattice.L" hmc --config <(grep -v '^L *=' "$input") --hmc.output="$out"
touch "$tmp/a_file"
expect_error "output directory not writable" "hmc.output" hmc --config "$input" --hmc.output="$tmp/a_file/out.h5"
touch "$tmp/exists.h5"
expect_error "existing output without --force" "--resume" hmc --config "$input" --hmc.output="$tmp/exists.h5"
expect_error "--resume without output" "does not exist" hmc --config "$input" --hmc.output="$tmp/none.h5" --resume
ckpt=$tmp/flow.h5
expect_error "train: batch smaller than ranks" "train.batch_size" train --config "$input" --train.batch_size=0 --train.checkpoint="$ckpt"
expect_error "train: unknown schedule" "train.lr_schedule" train --config "$input" --train.lr_schedule=cosine --train.checkpoint="$ckpt"
expect_error "train: unknown gradient estimator" "train.gradient" train --config "$input" --train.gradient=score --train.checkpoint="$ckpt"
expect_error "train: unknown reducer" "parallel.reducer = 'gloo': use auto, mpi or nccl" train --config "$input" --parallel.reducer=gloo --train.checkpoint="$ckpt"
expect_error "train: path gradient of realnvp" "train.gradient = path" train --config "$input" --flow.model=realnvp --train.gradient=path --train.checkpoint="$ckpt"
expect_error "train: beta out of range" "train.beta1" train --config "$input" --train.beta1=1.5 --train.checkpoint="$ckpt"
expect_error "train: negative learning rate" "train.lr" train --config "$input" --train.lr=-1 --train.checkpoint="$ckpt"
expect_error "train: learning rate nan" "train.lr = nan: must be a finite number" train --config "$input" --train.lr=nan --train.checkpoint="$ckpt"
expect_error "train: beta2 = -inf" "train.beta2 = -inf" train --config "$input" --train.beta2=-inf --train.checkpoint="$ckpt"
expect_error "train: checkpoint in /proc" "train.checkpoint = /proc/phi4flow_test.h5" train --config "$input" --train.checkpoint=/proc/phi4flow_test.h5
expect_error "train: L = 100000" "lattice.L" train --config "$input" --lattice.L=100000 --train.checkpoint="$ckpt"
expect_error "train: a batch too large for the memory" "train.batch_size" train --config "$input" --train.batch_size=100000000 --train.checkpoint="$ckpt"
expect_error "train: negative warm-up" "train.lr_warmup_steps" train --config "$input" --train.lr_warmup_steps=-1 --train.checkpoint="$ckpt"
expect_error "train: unknown model" "flow.model" train --config "$input" --flow.model=glow --train.checkpoint="$ckpt"
expect_error "train: no frequencies" "flow.frequencies" train --config "$input" --flow.frequencies=0 --train.checkpoint="$ckpt"
expect_error "train: no ODE steps" "flow.ode_steps" train --config "$input" --flow.ode_steps=0 --train.checkpoint="$ckpt"
expect_error "train: negative training ODE steps" "train.ode_steps" train --config "$input" --train.ode_steps=-1 --train.checkpoint="$ckpt"
expect_error "train: unknown precision" "flow.precision" train --config "$input" --flow.precision=half --train.checkpoint="$ckpt"
expect_error "train: unknown FFT planning" "flow.fft_planning" train --config "$input" --flow.fft_planning=patient --train.checkpoint="$ckpt"
expect_error "train: the retired sin/cos key" "flow.precision = double | single" train --config "$input" --flow.sincos_precision=single --train.checkpoint="$ckpt"
expect_error "train: even realnvp kernel" "flow.kernel_size" train --config "$input" --flow.model=realnvp --flow.kernel_size=4 --train.checkpoint="$ckpt"
expect_error "train: realnvp without channels" "flow.hidden_channels" train --config "$input" --flow.model=realnvp --flow.hidden_channels=0 --train.gradient=total --train.checkpoint="$ckpt"
expect_error "solver-error: realnvp has no solver" "flow.model" solver-error --config "$input" --flow.model=realnvp --train.checkpoint="$ckpt"
expect_error "train: --resume without checkpoint" "does not exist" train --config "$input" --train.checkpoint="$ckpt" --resume
echo "garbage" > "$tmp/corrupt.h5"
expect_error "train: corrupt checkpoint" "$tmp/corrupt.h5" train --config "$input" --train.checkpoint="$tmp/corrupt.h5" --resume
[ -e "$ckpt" ] && { echo "FAIL: a checkpoint was created" >&2; failures=$((failures + 1)); }
expect_error "sample: no steps" "sample.steps" sample --config "$input" --sample.steps=0 --sample.output="$out"
expect_error "sample: no output" "sample.output" sample --config <(grep -v '^output' "$input")
expect_error "sample: missing checkpoint" "$tmp/none.h5" sample --config "$input" --checkpoint="$tmp/none.h5" --sample.output="$out"
expect_error "sample: L = 100000" "lattice.L" sample --config "$input" --lattice.L=100000 --sample.output="$out"
expect_error "solver-error: samples too many for the memory" "--samples" solver-error --config "$input" --lattice.L=1000 --samples=100000 --train.checkpoint="$ckpt"
expect_error "analyze: missing ensemble" "$tmp/none.h5" analyze "$tmp/none.h5"
echo "not hdf5" > "$tmp/text.h5"
expect_error "analyze: not an HDF5 file" "$tmp/text.h5" analyze "$tmp/text.h5"
expect_error "negative first chain" "run.first_chain" hmc --config "$input" --run.first_chain=-1 --hmc.output="$out"
expect_error "chain ids past 2^31" "run.first_chain = 2147483647 with" hmc --config "$input" --run.first_chain=2147483647 --hmc.chains_per_rank=2 --hmc.output="$out"
expect_error "merge: one input" "at least two inputs" merge "$out" "$tmp/text.h5"
expect_error "merge: not an ensemble" "$tmp/text.h5" merge "$out" "$tmp/text.h5" "$tmp/none.h5"
expect_error "unknown command" "unknown command" frobnicate

[ -e "$out" ] && { echo "FAIL: an output file was created" >&2; failures=$((failures + 1)); }
ls -A "$tmp" | grep -q probe && { echo "FAIL: a probe file was left behind" >&2; failures=$((failures + 1)); }
[ $failures -eq 0 ] && echo "PASS" || { echo "$failures failures" >&2; exit 1; }
