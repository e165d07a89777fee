#!/usr/bin/env python3
"""How much float32 would move log q of a trained equivariant flow (docs/flow.md, "Faster steps").

An independent NumPy/SciPy re-implementation of the flow's forward pass (paper Section 3, docs/flow.md: D4-orbit kernel,
hat time basis, sin features, FFT convolution, analytic divergence, classical RK4) in which the vector field, or
everything, can be evaluated in float32. It first checks itself against phi4flow's own log q (from a
`phi4flow symmetry --output` file and its ensemble), then compares float32 with float64 on fresh latent samples
at L = 12 and, with the L = 12 kernel transplanted by displacement, at L = 20 and 32.

    /usr/bin/python3 tools/precision_study.py --checkpoint runs/train_L12/default.h5 \
        --verify /tmp/sym.h5 /tmp/hmc.h5
"""
import argparse
import sys

import h5py
import numpy as np
import scipy.fft as sfft

TIME_BASIS, FREQUENCIES = 10, 9
LAMBDA = {12: 5.276, 20: 5.113, 32: 4.750}  # the paper's Table 1, m2 = -4


def orbit_of(L):
    """D4 orbit of every displacement, numbered as phi4flow's Lattice::orbit_of does."""
    orbit = -np.ones(L * L, dtype=int)
    next_orbit = 0
    for s in range(L * L):
        if orbit[s] >= 0:
            continue
        x1, x2 = divmod(s, L)
        for d in range(8):
            a, b = (x2, x1) if d >= 4 else (x1, x2)
            for _ in range(d % 4):
                a, b = -b, a
            orbit[(a % L) * L + (b % L)] = next_orbit
        next_orbit += 1
    return orbit


class Flow:
    """The flow with theta/omega from a flat phi4flow parameter vector; vector field in `field_type`, RK4 state
    and log q in `state_type`."""

    def __init__(self, params, L, steps, field_type=np.float64, state_type=np.float64):
        A, F = TIME_BASIS, FREQUENCIES
        self.L, self.steps, self.ft, self.st = L, steps, field_type, state_type
        orbit = orbit_of(L)
        rows = orbit.max() + 1
        theta = params[: rows * A * F].reshape(rows, A, F)
        self.omega = params[rows * A * F:].astype(field_type)
        kernel = np.moveaxis(theta[orbit], 0, -1).reshape(A, F, L, L)
        self.kernel_spectra = sfft.rfft2(kernel.astype(field_type))
        self.w0 = theta[orbit[0]].astype(field_type)

    def velocity(self, y, t):
        u = min(max(t, 0.0), 1.0) * (TIME_BASIS - 1)
        lo = min(int(u), TIME_BASIS - 2)
        w_hi, w_lo = self.ft(u - lo), self.ft(1 - (u - lo))
        spectra = w_lo * self.kernel_spectra[lo] + w_hi * self.kernel_spectra[lo + 1]
        w0 = w_lo * self.w0[lo] + w_hi * self.w0[lo + 1]
        arg = self.omega[None, :, None, None] * y.astype(self.ft).reshape(-1, 1, self.L, self.L)
        g = sfft.irfft2((spectra[None] * sfft.rfft2(np.sin(arg))).sum(1), s=(self.L, self.L))
        div = ((w0 * self.omega)[None, :, None, None] * np.cos(arg)).sum(axis=(1, 2, 3))
        return g.reshape(y.shape).astype(self.st), div.astype(self.st)

    def rk4(self, y, ell, t, h):
        h = self.st(h)
        k1, d1 = self.velocity(y, t)
        k2, d2 = self.velocity(y + h / 2 * k1, t + h / 2)
        k3, d3 = self.velocity(y + h / 2 * k2, t + h / 2)
        k4, d4 = self.velocity(y + h * k3, t + h)
        return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), ell - h / 6 * (d1 + 2 * d2 + 2 * d3 + d4)

    def log_prior(self, z):
        z = z.astype(np.float64)
        return (-0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * np.log(2 * np.pi)).astype(self.st)

    def sample(self, z):
        y, ell, h = z.astype(self.st), self.log_prior(z), 1.0 / self.steps
        for n in range(self.steps):
            y, ell = self.rk4(y, ell, n * h, h)
        return y, ell

    def log_density(self, phi):
        y, ell, h = phi.astype(self.st), np.zeros(len(phi), self.st), 1.0 / self.steps
        for n in range(self.steps):
            y, ell = self.rk4(y, ell, 1.0 - n * h, -h)
        return self.log_prior(y) - ell


def action(phi, L, lam, m2=-4.0):
    p = phi.reshape(-1, L, L)
    kinetic = sum(p * (2 * p - np.roll(p, 1, ax) - np.roll(p, -1, ax)) for ax in (1, 2))
    return (kinetic + m2 * p ** 2 + lam * p ** 4).sum(axis=(1, 2))


def transplant(params, L_from, L_to):
    """theta of L_from moved to L_to by displacement (|r| <= L_from / 2 per direction, zero beyond)."""
    A, F = TIME_BASIS, FREQUENCIES
    orbit_from, orbit_to = orbit_of(L_from), orbit_of(L_to)
    rows_from = orbit_from.max() + 1
    theta_from = params[: rows_from * A * F].reshape(rows_from, A, F)
    theta = np.zeros((orbit_to.max() + 1, A, F))
    half = L_from // 2
    for s in range(L_to * L_to):
        x1, x2 = divmod(s, L_to)
        d1, d2 = (x1 + L_to // 2) % L_to - L_to // 2, (x2 + L_to // 2) % L_to - L_to // 2
        if abs(d1) <= half and abs(d2) <= half:
            theta[orbit_to[s]] = theta_from[orbit_from[(d1 % L_from) * L_from + d2 % L_from]]
    return np.concatenate([theta.ravel(), params[rows_from * A * F:]])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="phi4flow train checkpoint of an L = 12 model")
    parser.add_argument("--verify", nargs=2, metavar=("SYMMETRY_FILE", "ENSEMBLE"),
                        help="phi4flow symmetry --output file of this checkpoint and its ensemble: check log q")
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    params = h5py.File(args.checkpoint, "r")["arrays/parameters"][()]

    if args.verify:
        symmetry, ensemble = (h5py.File(p, "r") for p in args.verify)
        phi = np.stack([ensemble["configs/phi"][c, r].reshape(-1)
                        for c, r in zip(symmetry["chain"][()], symmetry["record"][()])])
        reference = symmetry["log_q"][:, 0, 0]  # image 0 is the configuration itself
        ours = Flow(params, 12, steps=54).log_density(phi)
        worst = np.max(np.abs(ours - reference))
        print(f"check against phi4flow: max |log q difference| {worst:.1e} over {len(phi)} configurations")
        if worst > 1e-8:
            sys.exit("this re-implementation does not reproduce phi4flow's log q")

    rng = np.random.default_rng(1)
    print(f"{'L':>3} {'steps':>5} {'std log w':>9} | {'float32 field: mean':>20} {'max':>8} | "
          f"{'all float32: mean':>18} {'max':>8}")
    for L in (12, 20, 32):
        p = params if L == 12 else transplant(params, 12, L)
        z = rng.standard_normal((args.samples, L * L))
        for steps in (54, 27):
            phi, log_q = Flow(p, L, steps).sample(z)
            log_w = -action(phi, L, LAMBDA[L]) - log_q
            row = f"{L:>3} {steps:>5} {log_w.std():>9.3f}"
            for field_type, state_type in ((np.float32, np.float64), (np.float32, np.float32)):
                _, log_q_low = Flow(p, L, steps, field_type, state_type).sample(z)
                d = np.abs(log_q_low.astype(np.float64) - log_q)
                row += f" | {d.mean():>20.1e} {d.max():>8.1e}" if state_type is np.float64 else \
                    f" | {d.mean():>18.1e} {d.max():>8.1e}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
