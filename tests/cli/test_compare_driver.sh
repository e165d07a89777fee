#!/usr/bin/env bash
# The comparison driver end to end on a tiny budget: tools/compare_models.sh trains, samples and measures the
# symmetry of the equivariant flow, one ablation and RealNVP at L = 6 for a few seconds each, skips finished models
# when run again, and tools/plot_comparison.py turns the results into its table and figures.
set -euo pipefail
phi4flow=${1:?usage: test_compare_driver.sh PHI4FLOW}
source "$(dirname "$0")/common.sh"
tools=$here/../../tools
export PHI4FLOW=$phi4flow SIZES=6 BUDGET=3 MH_STEPS=200 OUT=$tmp/compare
bash "$tools/compare_models.sh" cnf sign_breaking realnvp > "$tmp/driver.log"
for model in cnf sign_breaking realnvp; do
  for file in "$model.h5" "$model.history.csv" "$model.mh.h5" "$model.symmetry.h5" "$model.done"; do
    [ -f "$OUT/L6/$file" ] || { echo "FAIL: no $file"; cat "$tmp/driver.log"; exit 1; }
  done
done
bash "$tools/compare_models.sh" cnf > "$tmp/again.log"
grep -q "done before, skipped" "$tmp/again.log" || { echo "FAIL: a finished model was run again"; exit 1; }
/usr/bin/python3 "$tools/plot_comparison.py" "$OUT" > "$tmp/table.md"
cat "$tmp/table.md"
[ "$(grep -c '^| 6 |' "$tmp/table.md")" = 3 ] || { echo "FAIL: the table does not have the three models"; exit 1; }
for figure in comparison.png ablation.png symmetry_L6.png; do
  [ -s "$OUT/$figure" ] || { echo "FAIL: no figure $figure"; exit 1; }
done
echo "PASS"
