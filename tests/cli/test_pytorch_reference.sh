#!/usr/bin/env bash
# The PyTorch reference of the equivariant flow (tools/pytorch_cnf.py) computes what phi4flow computes, in double
# precision, on a briefly trained L = 6 model (theta != 0):
#   1. log q of every lattice image and sign flip of HMC configurations (phi4flow symmetry, which calls the model's
#      log_density) to 1e-9; the action to 1e-12 (relative);
#   2. a training step: phi4flow's latent z replayed (Philox), the mean loss against train's history and the total
#      gradient by autograd through RK4 against phi4flow's adjoint, recovered from the Adam moments of two
#      consecutive checkpoints (to 1e-9 relative), and torch.optim.Adam's update against the next checkpoint's
#      parameters; at step 1 (theta = 0, omega as phi4flow draws it) and at step 21;
#   3. a negative control: the same comparisons with one parameter moved by 1e-6 on the PyTorch side must fail.
# PYTORCH_REFERENCE_PERTURB=1 perturbs the reference itself, to see the test fail. Needs python3-torch and
# python3-h5py; without torch it fails (it does not skip).
set -euo pipefail
phi4flow=${1:?usage: test_pytorch_reference.sh PHI4FLOW}
source "$(dirname "$0")/common.sh"
python=${PYTHON:-/usr/bin/python3}
tools=$(cd "$here/../../tools" && pwd)
if ! "$python" -c "import torch" 2> /dev/null; then
  echo "FAIL: $python cannot import torch: install PyTorch (Debian/Ubuntu: apt install python3-torch)" >&2
  exit 1
fi

# Double precision everywhere.
precision=(--flow.precision=double)

cat > "$tmp/in.ini" <<EOF
[lattice]
L = 6
[action]
m2 = -4.0
lam = 6.975
[run]
seed = 61
progress_interval = 1000
[hmc]
output = $tmp/hmc.h5
trajectory_length = 1.0
leapfrog_steps = 10
thermalisation = 50
trajectories = 20
chains_per_rank = 2
measure_every = 1
flush_every = 100
store_fields = true
[flow]
model = equivariant_cnf
time_basis = 4
frequencies = 3
ode_steps = 6
[train]
batch_size = 8
lr = 1e-2
lr_schedule = constant
ode_steps = 4
gradient = total
beta1 = 0.8
beta2 = 0.9
ess_every = 1
ess_samples = 8
checkpoint_every = 1000
EOF
run() { "$phi4flow" "$@" "${precision[@]}" > "$tmp/last.log" 2>&1 || { echo "FAIL: phi4flow $*"; cat "$tmp/last.log"; exit 1; }; }
run hmc --config "$tmp/in.ini"
# Steps 1, 20 and 21, each checkpoint kept: the Adam moments of consecutive ones give the gradient of a step.
run train --config "$tmp/in.ini" --train.steps=1 --train.checkpoint="$tmp/s1.h5"
for step in 20 21; do
  previous=$([ "$step" = 20 ] && echo s1 || echo s20)
  cp "$tmp/$previous.h5" "$tmp/s$step.h5"
  cp "$tmp/$previous.history.csv" "$tmp/s$step.history.csv"
  run train --config "$tmp/in.ini" --resume --train.steps="$step" --train.checkpoint="$tmp/s$step.h5"
done
run symmetry --config "$tmp/in.ini" --checkpoint="$tmp/s21.h5" --ensemble="$tmp/hmc.h5" --configs=3 \
  --output="$tmp/sym.h5"

"$python" - "$tmp" "$tools" <<'PY'
import copy, os, sys
os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
tmp, tools = sys.argv[1:3]
sys.path.insert(0, tools)
import h5py
import numpy as np
import torch
import pytorch_cnf as pc

torch.set_num_threads(1)
failures = []


def perturbed(model):
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.theta[1, 1, 0] += 1e-6
    return other


def check(name, value, tolerance, expect_pass=True):
    ok = value <= tolerance
    print(f"{'ok  ' if ok == expect_pass else 'FAIL'} {name}: {value:.3e} (tolerance {tolerance:.0e}"
          f"{'' if expect_pass else ', must be exceeded'})")
    if ok != expect_pass:
        failures.append(name)


if os.environ.get("PYTORCH_REFERENCE_PERTURB"):
    print("PYTORCH_REFERENCE_PERTURB: theta[1][1][0] of the reference is moved by 1e-6; the checks must fail")
    maybe_perturb = perturbed
else:
    maybe_perturb = lambda m: m

# 1. log q of every image, as phi4flow symmetry computed it with the model's log_density.
with h5py.File(f"{tmp}/sym.h5", "r") as f:
    model_attrs = dict(f["model"].attrs)
    log_q_ref, symmetry = f["log_q"][()], f["symmetry"][()]
    chain, record, action_ref = f["chain"][()], f["record"][()], f["action"][()]
assert model_attrs["single_precision"] == 0, "symmetry ran with flow.precision = single: the comparison needs double"
with h5py.File(f"{tmp}/hmc.h5", "r") as f:
    n = int(f["configs"].attrs["n_complete"])
    assert np.all(record < n)
    phi = np.stack([f["configs/phi"][c, r].reshape(-1) for c, r in zip(chain, record)])
    m2, lam = float(f["action"].attrs["m2"]), float(f["action"].attrs["lam"])
L = int(model_attrs["L"])
N = L * L
action = pc.Phi4Action(L, m2, lam)
S = action(torch.from_numpy(phi)).numpy()
check("action S against phi4flow's (relative)", np.max(np.abs(S - action_ref) / np.abs(action_ref)), 1e-12)

model = pc.EquivariantCNF.from_checkpoint(f"{tmp}/s21.h5", model_attrs=model_attrs)
assert model.steps == int(model_attrs["steps"]) == 6
assert np.array_equal(model.flat_parameters().numpy(), h5py.File(f"{tmp}/s21.h5", "r")["arrays/parameters"][()])
print(f"model: L = {L}, A = {model.A}, F = {model.F}, {model.rows} D4 orbits, {model.steps} RK4 steps, "
      f"max |theta| = {float(model.theta.abs().max()):.3f}")
assert float(model.theta.abs().max()) > 1e-2, "training left theta at 0: the comparison would test little"
images = np.empty((len(phi), 2, len(symmetry), N))
for g, (d, t1, t2) in enumerate(symmetry):
    target = pc.apply_symmetry(int(d), int(t1), int(t2), L)
    images[:, 0, g, target] = phi
images[:, 1] = -images[:, 0]
fields = torch.from_numpy(images.reshape(-1, N))


def log_q_difference(m):
    with torch.no_grad():
        ours = m.log_density(fields).numpy().reshape(log_q_ref.shape)
    return np.max(np.abs(ours - log_q_ref))


check(f"log q of {fields.shape[0]} images, max |PyTorch - phi4flow|", log_q_difference(maybe_perturb(model)), 1e-9)
check("negative control: log q with theta[1][1][0] + 1e-6", log_q_difference(perturbed(model)), 1e-9,
      expect_pass=False)


# 2. Training steps replayed: loss, total gradient, Adam update.
def read_checkpoint(path):
    with h5py.File(path, "r") as f:
        c = {name: f[f"arrays/{name}"][()] for name in ("parameters", "adam_m", "adam_v")}
        c.update(step=int(f["counters"].attrs["step"]), training=dict(f["training"].attrs),
                 seed=int(f["rng"].attrs["seed"]), model=dict(f["model"].attrs))
    return c


history = {int(row[0]): float(row[1]) for row in
           (line.split(",") for line in open(f"{tmp}/s21.history.csv").read().split("\n")[1:] if line)}


def replay(before, after, label):
    """The training step from checkpoint `before` (None: the fresh model) to `after`."""
    tr = after["training"]
    b1, b2, eps, lr = (float(tr[k]) for k in ("beta1", "beta2", "adam_epsilon", "lr"))
    batch, seed, step = int(tr["batch_size"]), after["seed"], after["step"] - 1
    attrs = after["model"]
    pc.check_model_attrs(attrs)
    m = pc.EquivariantCNF(L, int(attrs["time_basis"]), int(attrs["frequencies"]), int(attrs["steps"]),
                          float(attrs["t_end"]), torch.float64, seed=seed)
    n_params = m.n_parameters
    m_before = before["adam_m"] if before else np.zeros(n_params)
    v_before = before["adam_v"] if before else np.zeros(n_params)
    if before:
        m.load_flat(before["parameters"])
    else:
        omega_ckpt = after["parameters"][n_params - m.F:]
        check(f"{label}: fresh omega against phi4flow's (omega has no gradient at theta = 0)",
              np.max(np.abs(m.omega.detach().numpy() - omega_ckpt)), 1e-14)
    m = maybe_perturb(m)
    optimizer = pc.make_adam(m, lr=lr, betas=(b1, b2), eps=eps)
    if before:
        pc.load_adam_state(optimizer, m, m_before, v_before, before["step"])
    z = torch.from_numpy(pc.training_latents(seed, step, batch, N))
    loss = pc.reverse_kl_loss(m, z, action, reduction="mean")
    loss.backward()
    grad = m.flat_gradient().numpy()
    grad_ref = (after["adam_m"] - b1 * m_before) / (1.0 - b1)  # m_t = b1 m_{t-1} + (1 - b1) g_t
    check(f"{label}: mean loss against train's history (6 digits, relative)",
          abs(float(loss) - history[after["step"]]) / abs(history[after["step"]]), 1e-5)
    check(f"{label}: total gradient, max |PyTorch - phi4flow| / max |g|",
          np.max(np.abs(grad - grad_ref)) / np.max(np.abs(grad_ref)), 1e-9)
    optimizer.step()
    check(f"{label}: parameters after torch.optim.Adam, max |PyTorch - phi4flow|",
          np.max(np.abs(m.flat_parameters().numpy() - after["parameters"])), 1e-10)
    return m, z, grad_ref


s1, s20, s21 = (read_checkpoint(f"{tmp}/s{k}.h5") for k in (1, 20, 21))
replay(None, s1, "step 1 (theta = 0)")
m, z, grad_ref = replay(s20, s21, "step 21")
control = perturbed(pc.EquivariantCNF(L, m.A, m.F, m.steps, m.t_end, seed=s21["seed"]).load_flat(s20["parameters"]))
pc.reverse_kl_loss(control, z, action, reduction="mean").backward()
check("negative control: gradient with theta[1][1][0] + 1e-6",
      np.max(np.abs(control.flat_gradient().numpy() - grad_ref)) / np.max(np.abs(grad_ref)), 1e-9,
      expect_pass=False)

if failures:
    sys.exit(f"FAIL: {len(failures)} check(s): {', '.join(failures)}")
print("PASS")
PY
