#!/usr/bin/env bash
# Behaviour unchanged, bit for bit: a tiny train -> sample -> hmc pipeline (tests/cli/reference_run.ini), on 1 and
# 2 ranks, must produce exactly the data (every dataset's bytes, see ensemble_digest.py) that the code produced
# when the digests below were recorded. A refactoring that moves a kernel, a random stream or a record changes a
# digest; a change that is meant to alter results must say why and record new digests (run this script with
# PHI4FLOW_PRINT_DIGESTS=1).
#
# The digests depend on floating-point rounding, so on the compiler, its flags and the CPU's libm/FFTW code paths:
# they were recorded with Debian 12's GCC 12, Kokkos 3.4 (Serial), FFTW 3.3.10, SLEEF 3.5.1, in a Release build with
# the default PHI4FLOW_ARCH=native on an x86-64 with FMA (AVX-512 and AVX2 give the same bits: SLEEF's finz
# functions are the same on both, and nothing is reassociated).
#   history: recorded at commit 3573240 (before the sampler components of issue 12), unchanged through issue 12;
#   re-recorded for issue 13, whose changes alter rounding on purpose: sin and cos from SLEEF instead of glibc,
#   host code compiled for the build machine (-march=native: FMA contraction, also in HMC), the divergence summed
#   per site before the sum over sites, and flow.precision = single (float fields and FFTs) replacing
#   flow.sincos_precision = single in the path-gradient run. Ensembles re-recorded for issue 15, which adds the
#   dataset /configs/chain (global chain ids): without it every file's digest is the one recorded for issue 13.
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
# The path gradient with a coarser training solver and the flow in float; RealNVP trained and sampled.
"$phi4flow" train --config "$tmp/in.ini" --train.checkpoint="$tmp/path.h5" --train.gradient=path \
  --flow.precision=single --train.ode_steps=3 > /dev/null
realnvp=(--flow.model=realnvp --flow.coupling_layers=2 --flow.hidden_channels=3)
"$phi4flow" train --config "$tmp/in.ini" "${realnvp[@]}" --train.checkpoint="$tmp/realnvp.h5" > /dev/null
"$phi4flow" sample --config "$tmp/in.ini" "${realnvp[@]}" --checkpoint "$tmp/realnvp.h5" \
  --sample.output="$tmp/realnvp_mh.h5" > /dev/null

expected="\
217dfa41e976d62b44e079416c5dd9381e57ab9ae818aba5352b9378bf4a1602 flow.h5
8846951b5950a022a4685324c66093fd02f23402ae014f124cd29f5e73c78202 flow_mh.h5
12a6e689b53d2241a361005a80c05192fc542b3a631223991004fc95b408a654 hmc.h5
c7d784ba996572d124ffe43f42344942b80ebaef92892ad2251d8ba129505023 flow_mh2.h5
5905c819c1c630ee6f87579affd687f1a67241facf68e270fdd510d9ab68bfce hmc2.h5
7d4dcb8173101ceea5536319de167d36f457f0fe16e7d96713d9c075c3279856 path.h5
fa9e8887b270df960059372889ebadc34180f189ba364d2122d81ef4b93a681a realnvp.h5
bb3490d89cb3d5ec9622c5c188e2c14ead7b40c85ad6e4c4ea0311886371a46e realnvp_mh.h5"
actual=$(cd "$tmp" && /usr/bin/python3 "$here/ensemble_digest.py" flow.h5 flow_mh.h5 hmc.h5 flow_mh2.h5 hmc2.h5 path.h5 \
  realnvp.h5 realnvp_mh.h5)
if [ "${PHI4FLOW_PRINT_DIGESTS:-0}" = 1 ]; then echo "$actual"; fi
if [ "$actual" != "$expected" ]; then
  echo "FAIL: the reference run's data changed:" >&2
  diff <(echo "$expected") <(echo "$actual") >&2 || true
  exit 1
fi
echo "reference digests: 8 of 8 files unchanged"
