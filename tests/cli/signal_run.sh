# Shared by the CLI tests (source it): start a phi4flow run in the background, wait until its progress lines
# report at least THRESHOLD units of work, then send it SIGNAL. Sets `status` to its exit status and `reached` to
# the last progress count seen; fails the test if the run ended before the signal.
#   signal_run SIGNAL LOG 'sed regex capturing the count' THRESHOLD command ...
signal_run() {
  local signal=$1 log=$2 pattern=$3 threshold=$4
  shift 4
  "$@" > "$log" &
  local pid=$!
  reached=""
  for _ in $(seq 1 1000); do
    # The log may not exist yet: the background job opens it only once it has started.
    reached=$(sed -n "s/$pattern/\1/p" "$log" 2>/dev/null | tail -1 || true)
    [ -n "$reached" ] && [ "$reached" -ge "$threshold" ] && break
    sleep 0.01
  done
  kill "-$signal" "$pid"
  status=0
  wait "$pid" 2>/dev/null || status=$?
  if grep -q "done in" "$log"; then
    echo "FAIL: the run finished before it got SIG$signal; make it longer" >&2
    exit 1
  fi
  echo "SIG$signal after ${reached:-?}: exit status $status"
}
