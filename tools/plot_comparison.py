#!/usr/bin/python3
"""Table and figures of a model comparison made by tools/compare_models.sh (the paper's Figs. 1, 2 and 5):
  comparison.png   ESS against training time for the equivariant flow and RealNVP at every lattice size, and
                   Metropolis-Hastings acceptance and proposal ESS against L (Fig. 1);
  ablation.png     ESS against training time of the equivariant flow and its ablations, per lattice size (Fig. 5);
  symmetry_L<L>.png  log q of RealNVP and of the equivariant flow over all lattice images of a few configurations,
                   beside the true -S - log Z (Fig. 2).
Prints a Markdown table: steps, training time, final ESS (mean of the last three estimates) and best ESS, MH
acceptance with its error, the ESS of the MH proposals, and the mean spread of log q over symmetry images."""
import argparse
import csv
import glob
import os

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["cnf", "translation_only", "sign_breaking", "no_symmetry", "realnvp"]
LABEL = {"cnf": "equivariant flow", "translation_only": "translations only", "sign_breaking": "no sign symmetry",
         "no_symmetry": "neither", "realnvp": "RealNVP"}
# Paper, Table 1 (its flow after two weeks on a V100).
PAPER = {6: (0.96, 0.99), 12: (0.91, 0.97), 20: (0.82, 0.90), 32: (0.66, 0.66)}


def history(path):
    rows = list(csv.DictReader(open(path)))
    return {key: np.array([float(r[key]) for r in rows]) for key in ("step", "ess", "seconds")}


def sampling(path):
    """MH acceptance with a binned error (bins of 100 steps per chain) and the ESS of the raw proposals."""
    with h5py.File(path, "r") as f:
        accepted = f["records/accepted"][()].astype(float)  # [chain][record]
        log_w = f["records/proposal_log_w"][()].ravel()
    n_bins = max(accepted.shape[1] // 100, 1)
    bins = accepted[:, : n_bins * 100].reshape(accepted.shape[0], n_bins, -1).mean(axis=2).ravel()
    w = np.exp(log_w - log_w.max())
    return accepted.mean(), bins.std(ddof=1) / np.sqrt(len(bins)), w.sum() ** 2 / (len(w) * (w * w).sum())


def collect(root):
    results = {}
    for d in sorted(glob.glob(os.path.join(root, "L*"))):
        L = int(os.path.basename(d)[1:])
        for model in ORDER:
            h = os.path.join(d, f"{model}.history.csv")
            if not os.path.exists(h):
                continue
            r = {"history": history(h)}
            mh = os.path.join(d, f"{model}.mh.h5")
            if os.path.exists(mh):
                r["acceptance"], r["acceptance_error"], r["proposal_ess"] = sampling(mh)
            sym = os.path.join(d, f"{model}.symmetry.h5")
            if os.path.exists(sym):
                with h5py.File(sym, "r") as f:
                    r["spread"] = float(f.attrs["mean_spread"])
                    r["sign_spread"] = float(f.attrs["mean_sign_spread"])
            results[(L, model)] = r
    return results


def table(results):
    print("| L | model | steps | minutes | final ESS | best ESS | MH acceptance | proposal ESS | log q spread: images | sign |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (L, model), r in sorted(results.items(), key=lambda kv: (kv[0][0], ORDER.index(kv[0][1]))):
        h = r["history"]
        acc = f"{r['acceptance']:.3f}({1000 * r['acceptance_error']:.0f})" if "acceptance" in r else "-"
        pess = f"{r['proposal_ess']:.3f}" if "proposal_ess" in r else "-"
        spread = f"{r['spread']:.1e} | {r['sign_spread']:.1e}" if "spread" in r else "- | -"
        print(f"| {L} | {LABEL[model]} | {int(h['step'][-1])} | {h['seconds'][-1] / 60:.1f} | {h['ess'][-3:].mean():.3f} "
              f"| {h['ess'].max():.3f} | {acc} | {pess} | {spread} |")


def smoothed(values, window=5):
    """Rolling mean (the paper smooths its ESS curves alike); the first points average what there is."""
    c = np.cumsum(np.insert(values, 0, 0.0))
    n = np.minimum(np.arange(1, len(values) + 1), window)
    return (c[1:] - c[np.arange(len(values)) + 1 - n]) / n


def plot_ess(ax, h, **style):
    """Each ESS estimate faintly, their rolling mean solidly."""
    minutes = h["seconds"] / 60
    line, = ax.plot(minutes, smoothed(h["ess"]), **style)
    ax.plot(minutes, h["ess"], color=line.get_color(), ls=line.get_linestyle(), lw=0.6, alpha=0.3)


COLOR = {"cnf": "tab:blue", "realnvp": "tab:red"}


def save(fig, title, output):
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    print(f"figure: {output}")


def figure_1(results, output):
    sizes = sorted({L for L, _ in results})
    colors = {L: plt.cm.viridis(i / max(len(sizes) - 1, 1)) for i, L in enumerate(sizes)}
    fig, (ax_ess, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    for (L, model), r in results.items():
        if model not in ("cnf", "realnvp"):
            continue
        plot_ess(ax_ess, r["history"], color=colors[L], ls="-" if model == "cnf" else "--",
                 label=f"L = {L}, {LABEL[model]}")
    ax_ess.set_xlabel("training time [min]")
    ax_ess.set_ylabel("ESS (1000 fresh samples; rolling mean of 5)")
    ax_ess.set_ylim(0, 1)
    ax_ess.grid(alpha=0.3)
    ax_ess.legend(fontsize=8)
    for model, marker in (("cnf", "o"), ("realnvp", "s")):
        pts = [(L, r) for (L, m), r in sorted(results.items()) if m == model and "acceptance" in r]
        if pts:
            ax_acc.errorbar([L for L, _ in pts], [r["acceptance"] for _, r in pts],
                            yerr=[r["acceptance_error"] for _, r in pts], marker=marker, capsize=3,
                            color=COLOR[model], label=f"{LABEL[model]}: MH acceptance")
            ax_acc.plot([L for L, _ in pts], [r["proposal_ess"] for _, r in pts], marker=marker, ls=":",
                        mfc="none", color=COLOR[model], label=f"{LABEL[model]}: ESS of the MH proposals")
    paper = sorted(PAPER.items())
    ax_acc.plot([L for L, _ in paper], [a for _, (a, _) in paper], "k^", label="paper's flow: acceptance (2 weeks)")
    ax_acc.plot([L for L, _ in paper], [e for _, (_, e) in paper], "k^", mfc="none", label="paper's flow: ESS")
    ax_acc.set_xlabel("L")
    ax_acc.set_ylabel("acceptance / ESS")
    ax_acc.set_ylim(0, 1)
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=8)
    save(fig, "Equivariant flow against RealNVP at equal training time", output)


def figure_5(results, output):
    sizes = sorted({L for L, m in results if m != "realnvp"})
    if not sizes:
        return
    fig, axes = plt.subplots(1, len(sizes), figsize=(5.5 * len(sizes), 4.2), squeeze=False)
    for ax, L in zip(axes[0], sizes):
        for model in ORDER[:4]:
            if (L, model) in results:
                plot_ess(ax, results[(L, model)]["history"], label=LABEL[model])
        ax.set_title(f"L = {L}")
        ax.set_xlabel("training time [min]")
        ax.set_ylabel("ESS (rolling mean of 5)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save(fig, "Ablation: equivariance under the lattice symmetries and phi -> -phi", output)


def figure_2(root, L, output):
    files = {m: os.path.join(root, f"L{L}", f"{m}.symmetry.h5") for m in ("cnf", "realnvp")}
    if not all(os.path.exists(p) for p in files.values()):
        return
    data = {}
    for m, p in files.items():
        with h5py.File(p, "r") as f:
            data[m] = (f["log_q"][()][:, 0, :], f["action"][()])
    log_q_cnf, action = data["cnf"]
    # -S - log Z with log Z estimated by the equivariant flow: mean of -S - log q over the configurations.
    log_z = np.mean(-action - log_q_cnf[:, 0])
    n_configs, images = log_q_cnf.shape
    fig, axes = plt.subplots(1, n_configs, figsize=(3 * n_configs, 3.4), sharey=False)
    for c, ax in enumerate(np.atleast_1d(axes)):
        x = np.arange(images)
        ax.plot(x, data["realnvp"][0][c], ".", ms=2, color="tab:red", label="RealNVP")
        ax.plot(x, log_q_cnf[c], "-", color="tab:blue", label="equivariant flow")
        ax.axhline(-action[c] - log_z, color="k", ls="--", lw=1, label="-S - log Z")
        for block in range(1, 8):
            ax.axvline(block * images / 8, color="gray", lw=0.5)
        ax.set_xlabel("symmetry image")
        ax.set_title(f"configuration {c}", fontsize=9)
    np.atleast_1d(axes)[0].set_ylabel("log likelihood")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    save(fig, f"log q over the 8 L^2 lattice images (L = {L}; blocks: rotations and mirrors)", output)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", help="output folder of tools/compare_models.sh (e.g. runs/compare)")
    parser.add_argument("--figures", help="folder for the figures (default: root)")
    args = parser.parse_args()
    figures = args.figures or args.root
    os.makedirs(figures, exist_ok=True)
    results = collect(args.root)
    if not results:
        raise SystemExit(f"plot_comparison.py: no <model>.history.csv under {args.root}/L*/")
    table(results)
    figure_1(results, os.path.join(figures, "comparison.png"))
    figure_5(results, os.path.join(figures, "ablation.png"))
    for L in sorted({L for L, _ in results}):
        figure_2(args.root, L, os.path.join(figures, f"symmetry_L{L}.png"))


if __name__ == "__main__":
    main()
