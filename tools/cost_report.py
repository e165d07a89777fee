#!/usr/bin/python3
"""Table and plot of tools/cost_study.sh: cost per effectively independent configuration (of chi2 and of |M|) for
tuned HMC and for flow MH against L, HMC's fitted dynamical exponent (tau_int ~ L^z at the tuned setting), and the
number of independent configurations after which a flow's training has paid for itself.

    /usr/bin/python3 tools/cost_report.py runs/cost/cost.csv --markdown cost.md --plot cost.png
"""
import argparse
import csv
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["L"] = int(r["L"])
        for k in ("seconds_per_step", "tau_chi2", "tau_abs_M", "cost_chi2_s", "cost_abs_M_s", "acceptance"):
            r[k] = float(r[k])
        r["training_s"] = float(r["training_s"]) if r["training_s"] else None
    return rows


def tuned(rows, key):
    """L -> the HMC row with the lowest cost of `key`."""
    best = {}
    for r in rows:
        if r["algorithm"] == "hmc" and (r["L"] not in best or r[key] < best[r["L"]][key]):
            best[r["L"]] = r
    return best


def fit_z(best, tau_key):
    Ls = sorted(best)
    if len(Ls) < 2:
        return float("nan"), float("nan")
    x, y = np.log(Ls), np.log([best[L][tau_key] for L in Ls])
    z, log_a = np.polyfit(x, y, 1)
    return z, math.exp(log_a)


def report(rows):
    lines = []
    for key, tau_key, name in (("cost_chi2_s", "tau_chi2", "chi2"), ("cost_abs_M_s", "tau_abs_M", "|M|")):
        best = tuned(rows, key)
        flows = {r["L"]: r for r in rows if r["algorithm"] == "flow-mh"}
        z, _ = fit_z(best, tau_key)
        lines += [f"Cost per effectively independent configuration of {name} (seconds of this machine's 2 cores):", "",
                  "| L | HMC tuned (tau, steps) | HMC acceptance | HMC tau_int | HMC cost | flow acceptance | flow tau_int "
                  "| flow cost | flow / HMC | training s | break-even configs |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for L in sorted(set(best) | set(flows)):
            h, f = best.get(L), flows.get(L)
            hs = (f"{h['trajectory_length']}, {h['leapfrog_steps']} | {h['acceptance']:.3f} | {h[tau_key]:.2f} | "
                  f"{h[key]:.2e}") if h else "- | - | - | -"
            if f:
                ratio = f"{f[key] / h[key]:.2f}" if h else "-"
                even = "-"
                if h and f["training_s"] and h[key] > f[key]:
                    even = f"{f['training_s'] / (h[key] - f[key]):.3g}"
                elif h and f["training_s"]:
                    even = "never (flow dearer)"
                fs = (f"{f['acceptance']:.3f} | {f[tau_key]:.2f} | {f[key]:.2e} | {ratio} | "
                      f"{f['training_s'] or '-'} | {even}")
            else:
                fs = "- | - | - | - | - | -"
            lines.append(f"| {L} | {hs} | {fs} |")
        lines += ["", f"HMC's dynamical exponent from the tuned tau_int of {name}: z = {z:.2f} "
                      f"(tau_int ~ L^z over L = {', '.join(map(str, sorted(best)))})", ""]
    return "\n".join(lines)


def plot(rows, path):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (key, tau_key, name) in zip(axes, (("cost_chi2_s", "tau_chi2", "chi2"), ("cost_abs_M_s", "tau_abs_M", "|M|"))):
        best = tuned(rows, key)
        flows = {r["L"]: r for r in rows if r["algorithm"] == "flow-mh"}
        Ls = sorted(best)
        z, _ = fit_z(best, tau_key)
        ax.loglog(Ls, [best[L][key] for L in Ls], "o-", label=f"HMC, tuned (tau_int ~ L^{z:.2f})")
        Fs = sorted(flows)
        ax.loglog(Fs, [flows[L][key] for L in Fs], "s-", label="flow MH")
        ax.set_xlabel("L")
        ax.set_ylabel("seconds per independent configuration")
        ax.set_title(f"cost per independent configuration of {name}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv")
    p.add_argument("--markdown")
    p.add_argument("--plot")
    a = p.parse_args()
    rows = load(a.csv)
    text = report(rows)
    print(text)
    if a.markdown:
        open(a.markdown, "w").write(text + "\n")
    if a.plot:
        plot(rows, a.plot)


if __name__ == "__main__":
    main()
