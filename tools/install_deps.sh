#!/usr/bin/env bash
# Installs the Debian 12 packages phi4flow needs, only those that are missing (needs root or sudo).
set -euo pipefail

packages=(
  build-essential cmake git pkg-config
  libtrilinos-kokkos-dev
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev
  libboost-program-options-dev
  libgtest-dev
  libfftw3-dev libsleef-dev
  librandom123-dev
  nlohmann-json3-dev
  libssl-dev
  python3 python3-h5py python3-numpy python3-matplotlib python3-torch
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "phi4flow: installing ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
