#!/usr/bin/env bash
# Behaviour unchanged, bit for bit: a tiny train -> sample -> hmc pipeline (tests/cli/reference_run.ini), on 1 and
# 2 ranks, must produce exactly the data (every dataset's bytes, see ensemble_digest.py) that the code produced
# when the digests below were recorded. A refactoring that moves a kernel, a random stream or a record changes a
# digest; a change that is meant to alter results must say why and record new digests (run this script with
# PHI4FLOW_PRINT_DIGESTS=1).
#
# The digests depend on floating-point rounding, so on the compiler, its flags and the CPU's libm/FFTW code paths:
# they were recorded with Debian 12's GCC 12, Kokkos 3.4 (Serial), FFTW 3.3.10, in a Release build on x86-64.
#   history: recorded at commit 3573240 (before the sampler components of issue 12) and unchanged since.
set -euo pipefail
phi4flow=${1:?usage: test_reference_digests.sh PHI4FLOW MPIEXEC}
mpiexec=${2:?}
source "$(dirname "$0")/common.sh"
sed "s#@OUT@#$tmp#" "$here/reference_run.ini" > "$tmp/in.ini"
"$phi4flow" train --config "$tmp/in.ini" > "$tmp/train.log"
"$phi4flow" sample --config "$tmp/in.ini" > "$tmp/sample.log"
"$phi4flow" hmc --config "$tmp/in.ini" > "$tmp/hmc.log"
"$mpiexec" -n 2 "$phi4flow" sample --config "$tmp/in.ini" --sample.output="$tmp/flow_mh2.h5" --sample.chains_per_rank=2 \
  > /dev/null
"$mpiexec" -n 2 "$phi4flow" hmc --config "$tmp/in.ini" --hmc.output="$tmp/hmc2.h5" --hmc.chains_per_rank=2 > /dev/null

expected="\
e6c24c77c77e03c7b95a0b0f8ce1a2b6c6a67f7123c54cc91f51a5e537d936b2 flow.h5
f00ed44baca19f23c731dd193db62467147d21a69f3b8921eae665a0b402506c flow_mh.h5
44d6122d466dc9b21a4bc516296222c94835ef8ec40f7e819a053f835af89a73 hmc.h5
ca27abaa98316ae51d61b682e76114bfba683d593c157882fed58551afa25a00 flow_mh2.h5
5a83571b0f622094401492d3823abf7eddcab0ad6b33e97b65b2047eabc4c659 hmc2.h5"
actual=$(cd "$tmp" && /usr/bin/python3 "$here/ensemble_digest.py" flow.h5 flow_mh.h5 hmc.h5 flow_mh2.h5 hmc2.h5)
if [ "${PHI4FLOW_PRINT_DIGESTS:-0}" = 1 ]; then echo "$actual"; fi
if [ "$actual" != "$expected" ]; then
  echo "FAIL: the reference run's data changed:" >&2
  diff <(echo "$expected") <(echo "$actual") >&2 || true
  exit 1
fi
echo "reference digests: 5 of 5 files unchanged"
