#!/usr/bin/python3
"""ESS (and loss) against training time from `phi4flow train` history files (*.history.csv), one curve each;
prints a summary table (final and best ESS, steps, seconds). The ESS of 1000 samples is noisy while it is low:
--smooth N draws the mean of the last N estimates over the faint single ones. A run started with train.init_from
counts its start's training time too; --own-time subtracts it (read from the checkpoint beside the history), so that
runs from different starts compare at equal budgets of their own."""
import argparse
import csv
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    rows = list(csv.DictReader(open(path)))
    return {key: [float(r[key]) for r in rows] for key in ("step", "loss", "ess", "lr", "seconds")}


def start_seconds(history_path):
    """Training seconds of the train.init_from start behind the checkpoint that wrote this history (0 if none)."""
    checkpoint = history_path.replace(".history.csv", ".h5")
    with h5py.File(checkpoint, "r") as f:
        start = f["training"].attrs.get("init_from")
    if start is None:
        return 0.0
    start = start.decode() if isinstance(start, bytes) else str(start)
    with h5py.File(start, "r") as f:
        return f["counters"].attrs["elapsed_ms"] / 1000.0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("histories", nargs="+")
    parser.add_argument("--output", required=True, help="PNG file")
    parser.add_argument("--smooth", type=int, default=1, help="plot the mean of the last N ESS estimates")
    parser.add_argument("--own-time", action="store_true", help="leave out the training time of each run's start")
    args = parser.parse_args()
    fig, (ax_ess, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    print(f"| run | steps | seconds | final ESS | mean of the last {args.smooth} | best ESS |")
    print("|---|---|---|---|---|---|")
    for path in args.histories:
        h = read(path)
        name = os.path.basename(path).replace(".history.csv", "")
        if args.own_time:
            offset = start_seconds(path)
            h["seconds"] = [s - offset for s in h["seconds"]]
        minutes = [s / 60 for s in h["seconds"]]
        if args.smooth > 1:
            line, = ax_ess.plot(minutes, h["ess"], alpha=0.25)
            windows = [h["ess"][max(0, i + 1 - args.smooth):i + 1] for i in range(len(h["ess"]))]
            mean = [sum(w) / len(w) for w in windows]
            ax_ess.plot(minutes, mean, color=line.get_color(), label=f"{name} (mean of {args.smooth})")
        else:
            ax_ess.plot(minutes, h["ess"], label=name)
        ax_loss.plot(minutes, h["loss"], label=name)
        last = h["ess"][-args.smooth:]
        print(f"| {name} | {int(h['step'][-1])} | {h['seconds'][-1]:.0f} | {h['ess'][-1]:.3f} | "
              f"{sum(last) / len(last):.3f} | {max(h['ess']):.3f} |")
    time_label = "training time of the run itself [min]" if args.own_time else "training time [min]"
    ax_ess.set_xlabel(time_label)
    ax_ess.set_ylabel("ESS (1000 fresh samples)")
    ax_ess.set_ylim(0, 1)
    ax_ess.grid(alpha=0.3)
    ax_ess.legend()
    ax_loss.set_xlabel(time_label)
    ax_loss.set_ylabel("loss = KL(q|p) - log Z")
    ax_loss.set_yscale("symlog")
    ax_loss.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"figure: {args.output}")


if __name__ == "__main__":
    main()
