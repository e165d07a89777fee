#!/usr/bin/python3
"""Tables and the efficiency figure of a scaling study (tools/scaling_study.sh writes the CSV).

    /usr/bin/python3 tools/scaling_report.py runs/scaling/scaling.csv --markdown scaling.md --plot scaling.png

Efficiencies are against the run on 1 node and 1 rank of the same kind: weak (fixed work per rank) t(1)/t(N) per
step, or rate(N) / (N rate(1)); strong (fixed global work) t(1) / (N t(N)). Oversubscribed runs (more ranks than
cores) are marked: their times measure the sharing of cores.
"""
import argparse
import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def number(text):
    return float(text) if text not in ("", None) else None


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for key in ("nodes", "ranks", "oversubscribed", "L", "batch", "local_batch", "chains", "steps"):
            r[key] = int(r[key]) if r[key] else None
        for key in ("compute_ms", "compute_slowest_ms", "allreduce_ms", "update_ms", "step_ms", "proposals_per_s",
                    "file_MB", "write_s", "write_MB_per_s"):
            r[key] = number(r[key])
    return rows


def with_efficiency(rows, kind, scaling):
    chosen = [r for r in rows if r["kind"] == kind and r["scaling"] == scaling]
    base = next((r for r in chosen if r["nodes"] == 1 and r["ranks"] == 1), None)
    for r in chosen:
        if base is None:
            r["efficiency"] = None
        elif kind == "train":
            ratio = base["step_ms"] / r["step_ms"]
            r["efficiency"] = ratio if scaling == "weak" else ratio / r["ranks"]
        else:
            r["efficiency"] = r["proposals_per_s"] / (r["ranks"] * base["proposals_per_s"])
    return sorted(chosen, key=lambda r: (r["nodes"], r["ranks"]))


def mark(r):
    return " (oversubscribed)" if r["oversubscribed"] else ""


def tables(rows):
    out = []
    model = [r for r in rows if r["kind"] == "train" and r["scaling"] == "model"]
    if model:
        out += ["One rank, compute per sample and step (the model's input):", "",
                "| L | batch | compute ms/step | ms per sample |", "|---|---|---|---|"]
        out += [f"| {r['L']} | {r['batch']} | {r['compute_ms']:.2f} | {r['compute_ms'] / r['batch']:.3f} |" for r in model]
        out.append("")
    for scaling in ("weak", "strong"):
        chosen = with_efficiency(rows, "train", scaling)
        if not chosen:
            continue
        out += [f"Training, {scaling} scaling (L = {chosen[0]['L']}; per step, ms):", "",
                "| nodes | ranks | global batch | compute | slowest rank | all-reduce | update | step | efficiency |",
                "|---|---|---|---|---|---|---|---|---|"]
        for r in chosen:
            out.append(f"| {r['nodes']} | {r['ranks']}{mark(r)} | {r['batch']} | {r['compute_ms']:.2f} | "
                       f"{r['compute_slowest_ms']:.2f} | {r['allreduce_ms']:.3f} | {r['update_ms']:.3f} | "
                       f"{r['step_ms']:.2f} | {r['efficiency']:.2f} |")
        out.append("")
    for scaling in ("weak", "strong"):
        chosen = with_efficiency(rows, "sample", scaling)
        if not chosen:
            continue
        out += [f"Flow MH sampling, {scaling} scaling (L = {chosen[0]['L']}):", "",
                "| nodes | ranks | chains | proposals/s | efficiency |", "|---|---|---|---|---|"]
        out += [f"| {r['nodes']} | {r['ranks']}{mark(r)} | {r['chains']} | {r['proposals_per_s']:.0f} | "
                f"{r['efficiency']:.2f} |" for r in chosen]
        out.append("")
    writes = sorted((r for r in rows if r["kind"] == "write"), key=lambda r: (r["nodes"], r["ranks"]))
    if writes:
        out += [f"Ensemble writes (HMC storing every field, L = {writes[0]['L']}, parallel HDF5 through MPI-IO):", "",
                "| nodes | ranks | chains | file MB | s in appends | MB/s |", "|---|---|---|---|---|---|"]
        out += [f"| {r['nodes']} | {r['ranks']}{mark(r)} | {r['chains']} | {r['file_MB']:.1f} | {r['write_s']:.3f} | "
                f"{r['write_MB_per_s']:.1f} |" for r in writes]
        out.append("")
    return "\n".join(out)


def plot(rows, path):
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for ax, kind in zip(axes[:2], ("train", "sample")):
        for scaling, style in (("weak", "-"), ("strong", "--")):
            chosen = with_efficiency(rows, kind, scaling)
            for nodes in sorted({r["nodes"] for r in chosen}):
                line = [r for r in chosen if r["nodes"] == nodes]
                ax.plot([r["ranks"] for r in line], [r["efficiency"] for r in line], style, marker="o",
                        label=f"{scaling}, {nodes} node{'s' if nodes > 1 else ''}")
                over = [r for r in line if r["oversubscribed"]]
                ax.scatter([r["ranks"] for r in over], [r["efficiency"] for r in over], s=140, facecolors="none",
                           edgecolors="red")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("ranks")
        ax.set_ylabel("efficiency")
        ax.set_ylim(0, 1.15)
        ax.set_title(("training step" if kind == "train" else "flow MH proposals") + " (red ring: oversubscribed)")
        ax.legend(fontsize=8)
    ax = axes[2]
    chosen = [r for r in with_efficiency(rows, "train", "weak")]
    labels = [f"{r['nodes']}n x {r['ranks']}r" for r in chosen]
    ax.bar(labels, [r["compute_ms"] for r in chosen], label="compute")
    ax.bar(labels, [r["allreduce_ms"] for r in chosen], bottom=[r["compute_ms"] for r in chosen], label="all-reduce")
    ax.set_ylabel("ms per step")
    ax.set_title("weak-scaling training step")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv")
    p.add_argument("--markdown", help="write the tables here too")
    p.add_argument("--plot", help="PNG of the efficiencies and of the step's compute / all-reduce split")
    a = p.parse_args()
    rows = load(a.csv)
    text = tables(rows)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")
    if a.plot:
        plot(rows, a.plot)


if __name__ == "__main__":
    main()
