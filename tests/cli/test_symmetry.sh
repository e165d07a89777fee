#!/usr/bin/env bash
# phi4flow symmetry on a briefly trained equivariant flow, its two ablations and a RealNVP, with configurations from
# a small HMC ensemble: log q of the equivariant flow is the same on all 8 L^2 lattice images and their sign flips to
# rounding; the translation-only ablation stays invariant under translations but not rotations; the sign-breaking
# ablation keeps the lattice symmetries but not phi -> -phi; RealNVP breaks both. The output file holds log q of
# every image and the model's identity. In double precision, where rounding is 1e-16 (test_flow checks float).
set -euo pipefail
phi4flow=${1:?usage: test_symmetry.sh PHI4FLOW}
source "$(dirname "$0")/common.sh"
input=$inputs/L6.ini
common=(--config "$input" --flow.precision=double --lattice.L=4 --flow.time_basis=4 --flow.frequencies=3 --flow.ode_steps=6
        --flow.coupling_layers=4 --flow.hidden_channels=4)
"$phi4flow" hmc "${common[@]}" --hmc.thermalisation=50 --hmc.trajectories=200 --hmc.chains_per_rank=2 \
  --hmc.output="$tmp/hmc.h5" > /dev/null
declare -A models=([cnf]="--flow.model=equivariant_cnf" [translation_only]="--flow.translation_only=true"
                   [sign_breaking]="--flow.sign_breaking=true" [realnvp]="--flow.model=realnvp --train.gradient=total")
for name in "${!models[@]}"; do
  "$phi4flow" train "${common[@]}" ${models[$name]} --train.steps=30 --train.batch_size=8 --train.ess_samples=16 \
    --train.ess_every=10 --train.checkpoint="$tmp/$name.h5" > /dev/null
  "$phi4flow" symmetry "${common[@]}" ${models[$name]} --checkpoint="$tmp/$name.h5" --ensemble="$tmp/hmc.h5" \
    --configs=4 --output="$tmp/$name.symmetry.h5" > "$tmp/$name.log"
  grep -q "mean spread" "$tmp/$name.log" || { echo "FAIL: $name"; cat "$tmp/$name.log"; exit 1; }
done
/usr/bin/python3 - "$tmp" <<'PY'
import os, sys
os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
import h5py, numpy as np
tmp = sys.argv[1]
def spreads(name):
    with h5py.File(f"{tmp}/{name}.symmetry.h5", "r") as f:
        assert f.attrs["format"] == "phi4flow-symmetry"
        assert f["model"].attrs["kind"] in ("equivariant_cnf", "realnvp")
        log_q, sym = f["log_q"][()], f["symmetry"][()]
        assert log_q.shape == (4, 2, 8 * 16) and sym.shape == (8 * 16, 3)
        pure_translations = sym[:, 0] == 0
        lattice = np.ptp(log_q[:, 0, :], axis=1).max()
        translations = np.ptp(log_q[:, 0, pure_translations], axis=1).max()
        sign = np.abs(log_q[:, 1, :] - log_q[:, 0, :]).max()
        assert np.allclose(f["spread"][()], np.ptp(log_q[:, 0, :], axis=1))
        return lattice, translations, sign
rounding, broken = 1e-10, 1e-4
checks = {"cnf": (lambda l, t, s: l < rounding and s < rounding),
          "translation_only": (lambda l, t, s: t < rounding and l > broken and s < rounding),
          "sign_breaking": (lambda l, t, s: l < rounding and s > broken),
          "realnvp": (lambda l, t, s: l > broken and s > broken)}
for name, ok in checks.items():
    l, t, s = spreads(name)
    print(f"{name:17s} spread over lattice images {l:.2e}, translations {t:.2e}, sign flips {s:.2e}")
    assert ok(l, t, s), f"FAIL: {name} has the wrong symmetries"
print("PASS")
PY
