#!/usr/bin/python3
"""Figures from a flow Metropolis-Hastings ensemble and, optionally, an HMC ensemble of the same theory:
Gc(x2) with errors (flow chain, flow proposals reweighted, HMC), the distribution of the flow's log weights, and a
few sampled field configurations. Needs the results files that `phi4flow analyze` writes next to each ensemble
(ENSEMBLE.results.json); the log weights and the configurations are read from the ensembles themselves.

    tools/plot_results.py --flow runs/L6/flow_mh.h5 --hmc runs/L6/hmc.h5 --output runs/L6/results.png

With --scan, ESS of the proposals and MH acceptance against the lattice size, one point per flow ensemble, beside
the paper's Table 1:

    tools/plot_results.py --scan runs/sample_L6/flow_mh.h5 runs/sample_L12/flow_mh.h5 --output scan.png
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def results_of(ensemble):
    path = (ensemble[:-3] if ensemble.endswith(".h5") else ensemble) + ".results.json"
    if not os.path.exists(path):
        sys.exit(f"{path} does not exist: run 'phi4flow analyze {ensemble}' first")
    with open(path) as f:
        return json.load(f)


def correlator(estimates):
    return (np.array([e["value"] for e in estimates], dtype=float),
            np.array([e["error"] for e in estimates], dtype=float))


PAPER_TABLE = {6: (0.96, 0.99), 12: (0.91, 0.97), 20: (0.82, 0.90), 32: (0.66, 0.66)}  # L: acceptance, ESS


def plot_scan(ensembles, output):
    points = sorted((r["L"], r["acceptance"]["value"], r["acceptance"]["error"], r["proposals"]["ess"])
                    for r in map(results_of, ensembles))
    fig, ax = plt.subplots(figsize=(6, 4))
    L = [p[0] for p in points]
    ax.errorbar(L, [p[1] for p in points], yerr=[p[2] for p in points], fmt="o-", label="acceptance (phi4flow)")
    ax.plot(L, [p[3] for p in points], "s-", label="ESS of proposals (phi4flow)")
    paper_L = sorted(PAPER_TABLE)
    ax.plot(paper_L, [PAPER_TABLE[x][0] for x in paper_L], "o:", color="C0", alpha=0.5, label="acceptance (paper)")
    ax.plot(paper_L, [PAPER_TABLE[x][1] for x in paper_L], "s:", color="C1", alpha=0.5, label="ESS (paper)")
    ax.set_xlabel("L")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(output, dpi=110, bbox_inches="tight")
    print(f"wrote {output}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flow", help="ensemble written by 'phi4flow sample'")
    parser.add_argument("--scan", nargs="+", help="flow ensembles at several lattice sizes")
    parser.add_argument("--hmc", help="ensemble written by 'phi4flow hmc' (optional)")
    parser.add_argument("--configs", type=int, default=4, help="sampled configurations to draw")
    parser.add_argument("--output", required=True, help="PNG file")
    args = parser.parse_args()
    if args.scan:
        plot_scan(args.scan, args.output)
        return
    if not args.flow:
        parser.error("give --flow ENSEMBLE (or --scan ENSEMBLE ...)")

    flow = results_of(args.flow)
    fig = plt.figure(figsize=(13, 7.5))
    grid = fig.add_gridspec(2, max(args.configs, 2))
    ax_gc = fig.add_subplot(grid[0, : grid.ncols // 2])
    ax_w = fig.add_subplot(grid[0, grid.ncols // 2:])

    L = flow["L"]
    t = np.arange(L + 1)
    # Gc is periodic: repeat Gc(0) at x2 = L so that the cosh shape closes.
    curves = [("flow MH chain", flow["Gc"], "o", -0.08)]
    if "proposals" in flow:
        curves.append(("flow proposals, reweighted", flow["proposals"]["Gc"], "s", 0.0))
    if args.hmc:
        hmc = results_of(args.hmc)
        curves.append(("HMC", hmc["Gc"], "^", 0.08))
    for label, estimates, marker, shift in curves:
        value, error = correlator(estimates)
        ax_gc.errorbar(t + shift, np.append(value, value[0]), np.append(error, error[0]), fmt=marker, ms=4,
                       capsize=2, label=label)
    ax_gc.set_yscale("log")
    ax_gc.set_xlabel("x2")
    ax_gc.set_ylabel("Gc(x2)")
    ax_gc.set_title(f"L = {L}, m2 = {flow['m2']}, lam = {flow['lam']}")
    ax_gc.grid(alpha=0.3)
    ax_gc.legend()

    with h5py.File(args.flow, "r") as f:
        n = int(f["configs"].attrs["n_complete"])
        proposal_log_w = f["records/proposal_log_w"][:, :n].ravel()
        chain_log_w = f["records/log_w"][:, :n].ravel()
        phi = f["configs/phi"][0, :n] if "phi" in f["configs"] else None
    reference = np.mean(proposal_log_w)
    bins = np.linspace(*np.percentile(np.concatenate([proposal_log_w, chain_log_w]) - reference, [0.05, 99.95]), 60)
    ax_w.hist(proposal_log_w - reference, bins=bins, density=True, alpha=0.6, label="proposals (q)")
    ax_w.hist(chain_log_w - reference, bins=bins, density=True, histtype="step", lw=1.5, label="MH chain (p)")
    ess = flow.get("proposals", {}).get("ess")
    ax_w.set_title("log w = -S - log q" + (f", ESS {ess:.3f}" if ess is not None else "") +
                   (f", acceptance {flow['acceptance']['value']:.3f}" if "acceptance" in flow else ""))
    ax_w.set_xlabel("log w - <log w>_q")
    ax_w.set_ylabel("density")
    ax_w.legend()

    if phi is not None:
        picks = np.linspace(0, n - 1, args.configs).astype(int)
        limit = np.max(np.abs(phi[picks]))
        for k, record in enumerate(picks):
            ax = fig.add_subplot(grid[1, k])
            image = ax.imshow(phi[record].T, origin="lower", cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(f"chain 0, record {record}")
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(image, ax=fig.axes[-args.configs:], shrink=0.8, label="phi")
    fig.savefig(args.output, dpi=110, bbox_inches="tight")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
