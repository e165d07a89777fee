#!/usr/bin/python3
"""Markdown table of HMC results (from `phi4flow analyze` JSON files) beside the paper's Table 1."""
import json
import sys

PAPER = {6: (1.06, 3.98), 12: (4.12, 3.99), 20: (10.57, 4.05), 32: (25.34, 4.05)}


def fmt(value, error):
    return f"{value:.4g}({error:.2g})" if value is not None else "n/a"


def main(paths):
    print("| L | lam | chains x records | acceptance | chi2 | chi2 paper | m_p L | m_p L paper | tau_int(M2) | tau_int(chi2) |")
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
              f"{r['M2']['tau_int']:.2f} | {chi2['tau_int']:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
