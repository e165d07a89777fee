# Sourced by every CLI test right after it has read its arguments: `here` (the tests/cli folder), `inputs` (the
# repository's input files), a scratch folder `tmp` removed when the test exits, and Open MPI's leave to run as
# root and to start more ranks than cores.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
inputs=$(cd "$here/../../input" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
