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
# The path gradient with a coarser training solver and sin/cos in float; RealNVP trained and sampled.
"$phi4flow" train --config "$tmp/in.ini" --train.checkpoint="$tmp/path.h5" --train.gradient=path \
  --flow.sincos_precision=single --train.ode_steps=3 > /dev/null
realnvp=(--flow.model=realnvp --flow.coupling_layers=2 --flow.hidden_channels=3)
"$phi4flow" train --config "$tmp/in.ini" "${realnvp[@]}" --train.checkpoint="$tmp/realnvp.h5" > /dev/null
"$phi4flow" sample --config "$tmp/in.ini" "${realnvp[@]}" --checkpoint "$tmp/realnvp.h5" \
  --sample.output="$tmp/realnvp_mh.h5" > /dev/null

expected="\
e6c24c77c77e03c7b95a0b0f8ce1a2b6c6a67f7123c54cc91f51a5e537d936b2 flow.h5
f00ed44baca19f23c731dd193db62467147d21a69f3b8921eae665a0b402506c flow_mh.h5
44d6122d466dc9b21a4bc516296222c94835ef8ec40f7e819a053f835af89a73 hmc.h5
ca27abaa98316ae51d61b682e76114bfba683d593c157882fed58551afa25a00 flow_mh2.h5
5a83571b0f622094401492d3823abf7eddcab0ad6b33e97b65b2047eabc4c659 hmc2.h5
a782d47de26c1a970e9ba8d85146f11e76fc38280bf76cd8fa08c8f91dd0f9ad path.h5
f432879fe04116d0ca87be10b0c14d320cb7bbfa1102799ac164bfd75a460db1 realnvp.h5
c5af5fa97e8963b39584c9810743152724040ff4766cd3d1ff2bcf2dfd61744c realnvp_mh.h5"
actual=$(cd "$tmp" && /usr/bin/python3 "$here/ensemble_digest.py" flow.h5 flow_mh.h5 hmc.h5 flow_mh2.h5 hmc2.h5 path.h5 \
  realnvp.h5 realnvp_mh.h5)
if [ "${PHI4FLOW_PRINT_DIGESTS:-0}" = 1 ]; then echo "$actual"; fi
if [ "$actual" != "$expected" ]; then
  echo "FAIL: the reference run's data changed:" >&2
  diff <(echo "$expected") <(echo "$actual") >&2 || true
  exit 1
fi
echo "reference digests: 8 of 8 files unchanged"
