#!/usr/bin/env python3
"""A plain PyTorch reference of phi4flow's equivariant continuous normalizing flow (docs/flow.md, "Model").

The same algorithm as src/flow/equivariant_flow.cpp, written the obvious way and differentiated by autograd:

* features h_f(phi) = sin(omega_f phi), f < F (the default model only: checkpoints of the translation_only or
  sign_breaking ablations are refused);
* hat-function time kernel K_a(t), a < A, on the grid t_a = a t_end / (A - 1) (hat_weights below);
* kernel W_f(t, r) = sum_a K_a(t) theta[orbit(r), a, f], tied over the D4 orbits of displacements r, numbered as
  phi4flow's Lattice::orbit_of numbers them, so that a checkpoint's flat parameter vector loads unchanged:
  theta[row][a][f] at (row * A + a) * F + f, then omega[f];
* vector field g(x) = sum_f sum_r W_f(t, r) h_f(phi(x + r)), a correlation, computed with rfft2 / irfft2 as
  g^ = conj(W^) h^ (phi4flow's convention);
* analytic divergence div g = sum_x sum_f W_f(t, 0) h_f'(phi(x)) = sum_x sum_f W_f(t, 0) omega_f cos(omega_f phi(x));
* classical RK4 with fixed steps for (phi, log q) from log r(z) = -|z|^2 / 2 - (N / 2) log(2 pi): sample(z), and
  log_density(phi) by integrating backwards from t_end to 0 (phi4flow's invert()), with the same stage times;
* the action S(phi) = sum_x [ sum_mu phi(x) (2 phi(x) - phi(x + mu) - phi(x - mu)) + m2 phi^2 + lam phi^4 ];
* reverse KL: phi4flow's model returns sum_b [log q(phi_b) + S(phi_b)] and its trainer divides loss and
  gradient by the global batch before Adam; reverse_kl_loss() returns the sum or (reduction="mean") the mean,
  and train_step() uses the mean, so that torch.optim.Adam sees phi4flow's gradient. The gradient is the total
  one (autograd through the RK4 solver, the discrete adjoint phi4flow writes by hand).

Fields are (batch, N) with site s = x1 * L + x2, as in phi4flow's buffers and ensemble files, or (batch, L, L).
Also here: phi4flow's Philox4x32-10 normals (the latent z of training step t, the initial omega), so that a
training step of phi4flow can be replayed exactly (tests/cli/test_pytorch_reference.sh).

    import sys; sys.path.insert(0, "tools"); import pytorch_cnf as pc
    model = pc.EquivariantCNF.from_checkpoint("runs/train_L12/default.h5", steps=108)
    log_q = model.log_density(phi)            # phi: torch tensor (batch, 144), float64
"""
import os

import numpy as np
import torch

LOG_2PI = 1.8378770664093454836  # log(2 pi), the constant phi4flow uses

# rng::Purpose of include/phi4flow/rng/philox.hpp
PURPOSE_FLOW_LATENT = 4
PURPOSE_FLOW_INIT = 6
PURPOSE_FLOW_EVAL = 7


# ---------------------------------------------------------------------------------------------------------------
# Lattice geometry and the time kernel, as phi4flow has them
# ---------------------------------------------------------------------------------------------------------------

def point_group(d, x1, x2, L):
    """Image of displacement (x1, x2) under point-group element d in [0, 8) (Lattice::point_group): the mirror
    x1 <-> x2 first when d >= 4, then d % 4 quarter turns (x1, x2) -> (-x2, x1); mod L."""
    if d >= 4:
        x1, x2 = x2, x1
    for _ in range(d % 4):
        x1, x2 = -x2, x1
    return x1 % L, x2 % L


def orbit_of(L):
    """D4 orbit of the displacement stored at every site s = x1 * L + x2, numbered in increasing order of the
    orbit's smallest site index (Lattice::orbit_of); orbit 0 is r = 0."""
    orbit = -np.ones(L * L, dtype=np.int64)
    next_orbit = 0
    for s in range(L * L):
        if orbit[s] >= 0:
            continue
        x1, x2 = divmod(s, L)
        for d in range(8):
            r1, r2 = point_group(d, x1, x2, L)
            orbit[r1 * L + r2] = next_orbit
        next_orbit += 1
    return orbit


def apply_symmetry(d, t1, t2, L):
    """Site index that every site s is mapped to by the lattice symmetry (d, t1, t2) (Lattice::apply)."""
    target = np.empty(L * L, dtype=np.int64)
    for s in range(L * L):
        r1, r2 = point_group(d, *divmod(s, L), L)
        target[s] = ((r1 + t1) % L) * L + (r2 + t2) % L
    return target


def hat_weights(time_basis, t_end, t):
    """(lo, hi, w_lo, w_hi): the two hat functions that can be nonzero at t, K_lo(t) = w_lo, K_hi(t) = w_hi
    (flow::hat_weights; t clamped to [0, t_end])."""
    if time_basis == 1:
        return 0, 0, 1.0, 0.0
    u = min(max(t / t_end, 0.0), 1.0) * (time_basis - 1)
    lo = min(int(u), time_basis - 2)
    w_hi = u - lo
    return lo, lo + 1, 1.0 - w_hi, w_hi


# ---------------------------------------------------------------------------------------------------------------
# phi4flow's random numbers: Philox4x32-10 (Random123), keyed (seed, purpose), counter (stream, step lo, step hi,
# element); Box-Muller normals, two per call (include/phi4flow/rng/philox.hpp)
# ---------------------------------------------------------------------------------------------------------------

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK = np.uint64(0xFFFFFFFF)


def philox4x32_10(counters, key):
    """Philox4x32 with 10 rounds. counters: uint32 array [4, n]; key: (k0, k1). Returns uint32 [4, n]."""
    c = [np.asarray(counters[i], dtype=np.uint64) for i in range(4)]
    k0, k1 = int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF
    for r in range(10):
        if r > 0:
            k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
        p0, p1 = _M0 * c[0], _M1 * c[2]
        hi0, lo0, hi1, lo1 = p0 >> np.uint64(32), p0 & _MASK, p1 >> np.uint64(32), p1 & _MASK
        c = [hi1 ^ c[1] ^ np.uint64(k0), lo1, hi0 ^ c[3] ^ np.uint64(k1), lo0]
    return np.stack(c).astype(np.uint32)


def _to_unit(hi, lo):
    bits = ((hi.astype(np.uint64) >> np.uint64(5)) << np.uint64(26)) | (lo.astype(np.uint64) >> np.uint64(6))
    return (bits.astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def philox_normals(seed, purpose, streams, step, n):
    """phi4flow's rng::fill_normal: row b holds the N(0, 1) numbers 0..n-1 of counter (streams[b], step), two per
    Philox call (element = pair). Returns float64 [len(streams), n]."""
    streams = np.asarray(streams, dtype=np.uint64)
    pairs = (n + 1) // 2
    stream_grid = np.repeat(streams, pairs)
    pair_grid = np.tile(np.arange(pairs, dtype=np.uint64), len(streams))
    step = int(step)
    counters = np.stack([stream_grid, np.full_like(stream_grid, step & 0xFFFFFFFF),
                         np.full_like(stream_grid, (step >> 32) & 0xFFFFFFFF), pair_grid])
    w = philox4x32_10(counters, (seed, purpose))
    u1, u2 = _to_unit(w[0], w[1]), _to_unit(w[2], w[3])
    radius = np.sqrt(-2.0 * np.log(u1))
    angle = 6.283185307179586 * u2
    z = np.empty((len(streams), 2 * pairs))
    z[:, 0::2] = (radius * np.cos(angle)).reshape(len(streams), pairs)
    z[:, 1::2] = (radius * np.sin(angle)).reshape(len(streams), pairs)
    return z[:, :n]


def training_latents(seed, step, batch, n_sites, first_sample=0):
    """The latent z phi4flow train draws for (0-based) training step `step`: streams = global sample indices."""
    return philox_normals(seed, PURPOSE_FLOW_LATENT, np.arange(first_sample, first_sample + batch), step, n_sites)


def initial_omega(seed, frequencies):
    """omega_f of a fresh phi4flow model: Philox(seed, flow_init).normal(0, 0, f)."""
    pairs = philox_normals(seed, PURPOSE_FLOW_INIT, [0], 0, frequencies)
    return pairs[0]


# ---------------------------------------------------------------------------------------------------------------
# The action
# ---------------------------------------------------------------------------------------------------------------

class Phi4Action:
    """S(phi) = sum_x [ sum_mu phi(x) (2 phi(x) - phi(x+mu) - phi(x-mu)) + m2 phi^2 + lam phi^4 ], written as
    phi4flow's site_action: (4 + m2) phi^2 + lam phi^4 - 2 phi (phi(x + e1) + phi(x + e2))."""

    def __init__(self, L, m2, lam):
        self.L, self.m2, self.lam = int(L), float(m2), float(lam)

    def __call__(self, phi):
        shape = phi.shape
        p = phi.reshape(-1, self.L, self.L)
        hop = torch.roll(p, -1, dims=1) + torch.roll(p, -1, dims=2)  # phi(x + e1) + phi(x + e2)
        p2 = p * p
        s = ((4.0 + self.m2) * p2 + self.lam * p2 * p2 - 2.0 * p * hop).sum(dim=(1, 2))
        return s.reshape(shape[:-2] if phi.dim() == 3 else shape[:-1])


def log_prior(z):
    """log r(z) = -|z|^2 / 2 - (N / 2) log(2 pi) of each field of a (batch, N) or (batch, L, L) tensor."""
    flat = z.reshape(z.shape[0], -1)
    return -0.5 * (flat * flat).sum(dim=1) - 0.5 * flat.shape[1] * LOG_2PI


# ---------------------------------------------------------------------------------------------------------------
# The flow
# ---------------------------------------------------------------------------------------------------------------

class EquivariantCNF(torch.nn.Module):
    """phi4flow's equivariant_cnf (default model). Parameters: theta [rows, A, F] (rows = D4 orbits of
    displacements) and omega [F]; flat layout as phi4flow's."""

    def __init__(self, L, time_basis=10, frequencies=9, steps=50, t_end=1.0, dtype=torch.float64, seed=None):
        super().__init__()
        if time_basis < 1 or frequencies < 1 or steps < 1 or not t_end > 0:
            raise ValueError("time_basis, frequencies and steps must be >= 1, t_end > 0")
        self.L, self.A, self.F, self.steps, self.t_end = int(L), int(time_basis), int(frequencies), int(steps), \
            float(t_end)
        self.dtype = dtype
        orbit = orbit_of(self.L)
        self.rows = int(orbit.max()) + 1
        self.register_buffer("orbit", torch.from_numpy(orbit), persistent=False)
        self.theta = torch.nn.Parameter(torch.zeros(self.rows, self.A, self.F, dtype=dtype))  # the identity map
        if seed is not None:
            omega = torch.from_numpy(initial_omega(seed, self.F))  # phi4flow's fresh model, exactly
        else:
            omega = torch.randn(self.F, dtype=torch.float64)
        self.omega = torch.nn.Parameter(omega.to(dtype))

    # -- parameters ---------------------------------------------------------------------------------------------
    @property
    def n_parameters(self):
        return self.rows * self.A * self.F + self.F

    def flat_parameters(self):
        """theta[row][a][f] at (row * A + a) * F + f, then omega[f]: phi4flow's /arrays/parameters."""
        return torch.cat([self.theta.detach().reshape(-1), self.omega.detach()]).to(torch.float64)

    def flat_gradient(self):
        """The gradient of theta and omega in the flat layout (zeros where there is none)."""
        parts = [p.grad if p.grad is not None else torch.zeros_like(p) for p in (self.theta, self.omega)]
        return torch.cat([parts[0].reshape(-1), parts[1]]).to(torch.float64)

    def load_flat(self, values):
        values = torch.as_tensor(np.asarray(values, dtype=np.float64))
        if values.numel() != self.n_parameters:
            raise ValueError(f"{values.numel()} parameters, this model (L = {self.L}, A = {self.A}, F = {self.F}) "
                             f"has {self.n_parameters}")
        n_theta = self.rows * self.A * self.F
        with torch.no_grad():
            self.theta.copy_(values[:n_theta].reshape(self.rows, self.A, self.F).to(self.dtype))
            self.omega.copy_(values[n_theta:].to(self.dtype))
        return self

    @classmethod
    def from_checkpoint(cls, path, steps=None, dtype=torch.float64, model_attrs=None):
        """The model of a phi4flow checkpoint (its /model attributes, or `model_attrs` from e.g. a symmetry file,
        and /arrays/parameters). `steps`: RK4 steps (default: the /model `steps` it was trained or used with)."""
        import h5py
        with h5py.File(path, "r") as f:
            attrs = dict(model_attrs if model_attrs is not None else f["model"].attrs)
            params = f["arrays/parameters"][()]
        check_model_attrs(attrs, path)
        model = cls(int(attrs["L"]), int(attrs["time_basis"]), int(attrs["frequencies"]),
                    int(steps if steps is not None else attrs["steps"]), float(attrs.get("t_end", 1.0)), dtype)
        return model.load_flat(params)

    # -- the vector field ---------------------------------------------------------------------------------------
    def kernel_spectra(self):
        """conj(W^_{a,f}(k)) for every time basis function a and feature f: [A, F, L, L/2 + 1], complex.
        W_{a,f}(r) = theta[orbit(r), a, f]; g is the correlation of W with the features, so g^ = conj(W^) h^."""
        L = self.L
        W = self.theta[self.orbit]                       # [N, A, F]
        W = W.permute(1, 2, 0).reshape(self.A, self.F, L, L)
        return torch.conj(torch.fft.rfft2(W))

    def vector_field(self, phi, t, spectra=None):
        """g(phi, t) and div g for a batch: phi [B, L, L] -> (g [B, L, L], div [B])."""
        if spectra is None:
            spectra = self.kernel_spectra()
        lo, hi, w_lo, w_hi = hat_weights(self.A, self.t_end, t)
        W_t = w_lo * spectra[lo] + w_hi * spectra[hi]                  # [F, L, L/2 + 1]
        w0 = w_lo * self.theta[0, lo] + w_hi * self.theta[0, hi]       # W_f(t, r = 0): orbit 0 is r = 0
        arg = self.omega[None, :, None, None] * phi[:, None, :, :]     # [B, F, L, L]
        features = torch.fft.rfft2(torch.sin(arg))
        g = torch.fft.irfft2(torch.einsum("bfkl,fkl->bkl", features, W_t), s=(self.L, self.L))
        div = (torch.cos(arg).sum(dim=(2, 3)) * (w0 * self.omega)[None, :]).sum(dim=1)
        return g, div

    def rk4_step(self, y, ell, t, h, spectra):
        """One classical RK4 step of (phi, ell) with d phi/dt = g, d ell/dt = -div g (phi4flow's rk4_step)."""
        k1, d1 = self.vector_field(y, t, spectra)
        k2, d2 = self.vector_field(y + (0.5 * h) * k1, t + 0.5 * h, spectra)
        k3, d3 = self.vector_field(y + (0.5 * h) * k2, t + 0.5 * h, spectra)
        k4, d4 = self.vector_field(y + h * k3, t + h, spectra)
        h6 = h / 6.0
        return y + h6 * (k1 + 2.0 * k2 + 2.0 * k3 + k4), ell - h6 * (d1 + 2.0 * d2 + 2.0 * d3 + d4)

    def _as_grid(self, x):
        x = torch.as_tensor(x)
        if x.dtype != self.dtype:
            x = x.to(self.dtype)
        return x.reshape(x.shape[0], self.L, self.L)

    def sample(self, z, checkpoint_steps=False):
        """phi = T(z) and log q(phi) = log r(z) - int_0^t_end div g dt, RK4 forwards from t = 0. Returns phi in z's
        shape and log q [B]. checkpoint_steps: recompute each RK4 step in the backward pass (less memory)."""
        shape = z.shape
        phi = self._as_grid(z)
        log_q = log_prior(phi)
        spectra = self.kernel_spectra()
        h = self.t_end / self.steps
        for n in range(self.steps):
            if checkpoint_steps and torch.is_grad_enabled():
                from torch.utils.checkpoint import checkpoint
                phi, log_q = checkpoint(self.rk4_step, phi, log_q, n * h, h, spectra, use_reentrant=False)
            else:
                phi, log_q = self.rk4_step(phi, log_q, n * h, h, spectra)
        return phi.reshape(shape), log_q

    def invert(self, phi):
        """The latent z that phi came from and log q(phi), integrating backwards from t_end (phi4flow's invert)."""
        shape = phi.shape
        z = self._as_grid(phi)
        ell = torch.zeros(z.shape[0], dtype=self.dtype)
        spectra = self.kernel_spectra()
        h = self.t_end / self.steps
        for n in range(self.steps):
            z, ell = self.rk4_step(z, ell, self.t_end - n * h, -h, spectra)
        return z.reshape(shape), log_prior(z) - ell

    def log_density(self, phi):
        return self.invert(phi)[1]

    def direct_vector_field(self, phi, t):
        """g by the direct sum over displacements (slow; for tests of the FFT convention)."""
        lo, hi, w_lo, w_hi = hat_weights(self.A, self.t_end, t)
        theta_t = w_lo * self.theta[:, lo] + w_hi * self.theta[:, hi]   # [rows, F]
        features = torch.sin(self.omega[None, :, None, None] * phi[:, None])
        g = torch.zeros_like(phi)
        for r in range(self.L * self.L):
            r1, r2 = divmod(r, self.L)
            shifted = torch.roll(features, shifts=(-r1, -r2), dims=(2, 3))  # h(phi(x + r))
            g = g + (theta_t[self.orbit[r]][None, :, None, None] * shifted).sum(dim=1)
        return g


def check_model_attrs(attrs, source="model"):
    """Refuse what this reference does not implement: other model kinds and the two ablations."""
    def text(v):
        return v.decode() if isinstance(v, bytes) else str(v)
    kind = text(attrs.get("kind", "equivariant_cnf"))
    if kind != "equivariant_cnf":
        raise ValueError(f"{source}: model kind {kind}; this reference implements equivariant_cnf only")
    for ablation in ("translation_only", "sign_breaking"):
        if float(attrs.get(ablation, 0)) != 0:
            raise ValueError(f"{source}: {ablation} = true; this reference implements the default model only")


# ---------------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------------

def reverse_kl_loss(model, z, action, reduction="sum", checkpoint_steps=False):
    """sum_b [log q(phi_b) + S(phi_b)], phi_b = T(z_b) (phi4flow's loss_and_gradient), or its mean over the batch
    (reduction="mean": what phi4flow's trainer reports and differentiates). Autograd gives the total gradient."""
    phi, log_q = model.sample(z, checkpoint_steps=checkpoint_steps)
    per_sample = log_q + action(phi)
    return per_sample.sum() if reduction == "sum" else per_sample.mean()


def make_adam(model, lr=5e-3, betas=(0.8, 0.9), eps=1e-8):
    """torch.optim.Adam over (theta, omega), the update phi4flow's Adam makes (with phi4flow's defaults)."""
    return torch.optim.Adam([model.theta, model.omega], lr=lr, betas=tuple(betas), eps=eps, foreach=False)


def load_adam_state(optimizer, model, adam_m, adam_v, step):
    """Put phi4flow's Adam moments (flat, as in a checkpoint's /arrays/adam_m, adam_v) and update count into a
    make_adam() optimizer, so that the next optimizer.step() continues that optimisation."""
    n_theta = model.rows * model.A * model.F
    for p, part in ((model.theta, slice(0, n_theta)), (model.omega, slice(n_theta, None))):
        m = torch.as_tensor(np.asarray(adam_m)[part]).reshape(p.shape).to(p.dtype)
        v = torch.as_tensor(np.asarray(adam_v)[part]).reshape(p.shape).to(p.dtype)
        optimizer.state[p] = {"step": torch.tensor(float(step)), "exp_avg": m.clone(), "exp_avg_sq": v.clone()}


def train_step(model, optimizer, z, action, checkpoint_steps=False):
    """One reverse-KL step on the batch z: the mean loss, its total gradient by autograd, an Adam update.
    Returns the mean loss (phi4flow's trainer's number)."""
    optimizer.zero_grad(set_to_none=True)
    loss = reverse_kl_loss(model, z, action, reduction="mean", checkpoint_steps=checkpoint_steps)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def _self_test():
    """Cheap internal checks: FFT correlation against the direct sum, sample then invert returns z, theta = 0 is
    the identity, and the analytic divergence against autograd's Jacobian trace."""
    torch.manual_seed(1)
    L = 5
    model = EquivariantCNF(L, time_basis=3, frequencies=2, steps=8, seed=3)
    with torch.no_grad():
        model.theta.normal_(0, 0.05)
    phi = torch.randn(2, L, L, dtype=torch.float64)
    g, div = model.vector_field(phi, 0.3)
    assert torch.allclose(g, model.direct_vector_field(phi, 0.3), atol=1e-12), "FFT correlation"
    jac = torch.autograd.functional.jacobian(lambda p: model.vector_field(p[None], 0.3)[0][0], phi[0])
    trace = jac.reshape(L * L, L * L).diagonal().sum()
    assert abs(float(trace - div[0])) < 1e-12, "analytic divergence"
    with torch.no_grad():
        z = torch.randn(3, L * L, dtype=torch.float64)
        x, log_q = model.sample(z)
        z_back, log_q_back = model.invert(x)
        assert float((z_back - z).abs().max()) < 1e-6 and float((log_q_back - log_q).abs().max()) < 1e-6
        identity = EquivariantCNF(L, 3, 2, 4, seed=3)
        x0, lq0 = identity.sample(z)
        assert torch.equal(x0, z) and torch.allclose(lq0, log_prior(z))
    print("pytorch_cnf self-test passed")


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    _self_test()
