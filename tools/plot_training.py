#!/usr/bin/python3
"""ESS (and loss) against training time from `phi4flow train` history files (*.history.csv), one curve each;
prints a summary table (final and best ESS, steps, seconds). The ESS of 1000 samples is noisy while it is low:
--smooth N draws the mean of the last N estimates over the faint single ones."""
import argparse
import csv
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    rows = list(csv.DictReader(open(path)))
    return {key: [float(r[key]) for r in rows] for key in ("step", "loss", "ess", "lr", "seconds")}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("histories", nargs="+")
    parser.add_argument("--output", required=True, help="PNG file")
    parser.add_argument("--smooth", type=int, default=1, help="plot the mean of the last N ESS estimates")
    args = parser.parse_args()
    fig, (ax_ess, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    print("| run | steps | seconds | final ESS | best ESS |")
    print("|---|---|---|---|---|")
    for path in args.histories:
        h = read(path)
        name = os.path.basename(path).replace(".history.csv", "")
        minutes = [s / 60 for s in h["seconds"]]
        if args.smooth > 1:
            line, = ax_ess.plot(minutes, h["ess"], alpha=0.25)
            windows = [h["ess"][max(0, i + 1 - args.smooth):i + 1] for i in range(len(h["ess"]))]
            mean = [sum(w) / len(w) for w in windows]
            ax_ess.plot(minutes, mean, color=line.get_color(), label=f"{name} (mean of {args.smooth})")
        else:
            ax_ess.plot(minutes, h["ess"], label=name)
        ax_loss.plot(minutes, h["loss"], label=name)
        print(f"| {name} | {int(h['step'][-1])} | {h['seconds'][-1]:.0f} | {h['ess'][-1]:.3f} | {max(h['ess']):.3f} |")
    ax_ess.set_xlabel("training time [min]")
    ax_ess.set_ylabel("ESS (1000 fresh samples)")
    ax_ess.set_ylim(0, 1)
    ax_ess.grid(alpha=0.3)
    ax_ess.legend()
    ax_loss.set_xlabel("training time [min]")
    ax_loss.set_ylabel("loss = KL(q|p) - log Z")
    ax_loss.set_yscale("symlog")
    ax_loss.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"figure: {args.output}")


if __name__ == "__main__":
    main()
