#!/usr/bin/env bash
# Configures (once) and builds phi4flow in build/ (or $PHI4FLOW_BUILD_DIR), incrementally.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PHI4FLOW_BUILD_DIR:-$root/build}
bash "$root/tools/install_deps.sh"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@"
fi
cmake --build "$build" -j "$(nproc)"
