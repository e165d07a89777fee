#!/usr/bin/env bash
# An HMC run killed with SIGKILL (or stopped by SIGTERM) in the middle and resumed with --resume must produce the same file, record for
# record, as an uninterrupted run: nothing lost, nothing duplicated, the chains continued exactly.
# A run on 2 ranks x 2 chains must equal a run on 1 rank x 4 chains, and 3 ranks x 2 chains 1 rank x 6 chains
# (random streams keyed by global chain).
set -euo pipefail
phi4flow=${1:?usage: test_kill_resume.sh PHI4FLOW MPIEXEC}
mpiexec=${2:?}
source "$(dirname "$0")/common.sh"
input=$inputs/quickstart.ini
common=(--config "$input" --lattice.L=12 --action.lam=5.276 --hmc.thermalisation=100 --hmc.trajectories=6000
        --hmc.measure_every=5 --hmc.flush_every=40 --run.progress_interval=0.05)
records=1200

"$phi4flow" hmc "${common[@]}" --hmc.chains_per_rank=4 --hmc.output="$tmp/reference.h5" > "$tmp/reference.log"

# Start the same run and send `signal` once it is well past its first flushed blocks.
source "$here/signal_run.sh"
start_and_signal() {
  signal_run "$1" "$tmp/$2.log" '^hmc: trajectory \([0-9]*\)\/.*' 1500 \
    "$phi4flow" hmc "${common[@]}" --hmc.chains_per_rank=4 --hmc.output="$tmp/$2.h5"
}

# SIGKILL: whatever was flushed survives; resume recomputes the lost block exactly.
start_and_signal KILL killed
"$phi4flow" hmc "${common[@]}" --hmc.chains_per_rank=4 --hmc.output="$tmp/killed.h5" --resume > "$tmp/resumed.log"
grep -q "resuming at trajectory" "$tmp/resumed.log" || { echo "FAIL: resume started from scratch" >&2; exit 1; }
/usr/bin/python3 "$here/compare_ensembles.py" "$tmp/reference.h5" "$tmp/killed.h5" "$records"

# SIGTERM (what SLURM sends at the time limit): the run saves what it has and exits with status 3.
start_and_signal TERM terminated
[ "$status" -eq 3 ] || { echo "FAIL: SIGTERM gave exit status $status, expected 3" >&2; exit 1; }
grep -q "continue with --resume" "$tmp/terminated.log" || { echo "FAIL: no resume hint after SIGTERM" >&2; exit 1; }
"$phi4flow" hmc "${common[@]}" --hmc.chains_per_rank=4 --hmc.output="$tmp/terminated.h5" --resume > /dev/null
/usr/bin/python3 "$here/compare_ensembles.py" "$tmp/reference.h5" "$tmp/terminated.h5" "$records"

"$mpiexec" -n 2 --oversubscribe "$phi4flow" hmc "${common[@]}" --hmc.chains_per_rank=2 \
  --hmc.output="$tmp/two_ranks.h5" > "$tmp/two_ranks.log"
/usr/bin/python3 "$here/compare_ensembles.py" "$tmp/reference.h5" "$tmp/two_ranks.h5" "$records"
# 3 ranks x 2 chains against 1 rank x 6 chains.
"$phi4flow" hmc "${common[@]}" --hmc.chains_per_rank=6 --hmc.output="$tmp/six_chains.h5" > /dev/null
"$mpiexec" -n 3 --oversubscribe "$phi4flow" hmc "${common[@]}" --hmc.chains_per_rank=2 \
  --hmc.output="$tmp/three_ranks.h5" > /dev/null
/usr/bin/python3 "$here/compare_ensembles.py" "$tmp/six_chains.h5" "$tmp/three_ranks.h5" "$records"
# Resuming with other algorithm parameters or another seed would splice two different chains: refused.
for change in hmc.leapfrog_steps=7 run.seed=99; do
  key=${change%%=*}
  if out=$("$phi4flow" hmc "${common[@]}" --hmc.chains_per_rank=4 --hmc.output="$tmp/killed.h5" --resume "--$change" 2>&1); then
    echo "FAIL: resume with --$change was accepted" >&2; exit 1
  fi
  grep -q "${key#*.}" <<<"$out" || { echo "FAIL: refusal of --$change does not name ${key#*.}: $out" >&2; exit 1; }
  echo "refused resume with --$change: $(head -1 <<<"$out")"
done
echo "PASS"
