#!/usr/bin/python3
"""Markdown table of HMC results (from `phi4flow analyze` JSON files) beside the paper's Table 1."""
import json
import math
import sys

PAPER = {6: (1.06, 3.98), 12: (4.12, 3.99), 20: (10.57, 4.05), 32: (25.34, 4.05)}


def fmt(value, error):
    """value(error) with the error's two leading digits in parentheses, as physicists write it."""
    if value is None or error is None or not math.isfinite(error) or error <= 0:
        return "n/a" if value is None else f"{value:.4g}"
    digits = max(0, 1 - int(math.floor(math.log10(error))))
    return f"{value:.{digits}f}({round(error * 10**digits):d})"


def main(paths):
    print("| L | lam | chains x records | acceptance | chi2 | chi2 paper | m_p L | m_p L paper | tau_int(chi2) [traj] | tau_int(m_p) [traj] |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for path in paths:
        with open(path) as f:
            r = json.load(f)
        rows.append(r)
    for r in sorted(rows, key=lambda r: (r["L"], r["lam"])):
        L = r["L"]
        chi2 = r["chi2"]
        mp = r["m_p"]
        paper = PAPER.get(L, (None, None))
        mpl = fmt(mp["value"] * L, mp["error"] * L) if mp["value"] is not None else "n/a"
        print(f"| {L} | {r['lam']} | {r['n_chains']} x {r['n_records']} | {r['acceptance']['value']:.3f} | "
              f"{fmt(chi2['value'], chi2['error'])} | {paper[0]} | {mpl} | {paper[1]} | "
              f"{chi2['tau_int'] * r['record_spacing']:.1f} | {mp['tau_int'] * r['record_spacing']:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
