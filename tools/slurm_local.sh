#!/usr/bin/env bash
# A one-node SLURM cluster on localhost, for trying jobs/*.sbatch on a workstation (Debian 12, slurm-wlm 22.05,
# munge). NOT for production: the daemons run as root, with no accounting and a throwaway config.
#
#   tools/slurm_local.sh start     # install slurm-wlm/munge if missing, start munged, slurmctld, slurmd
#   tools/slurm_local.sh status    # daemons and node state
#   tools/slurm_local.sh stop      # stop the daemons this script started
#   tools/slurm_local.sh env       # print the export line for sbatch/squeue/scontrol (SLURM_CONF)
#
# Everything lives under $SLURM_LOCAL_DIR (default /tmp/phi4flow-slurm): slurm.conf, state, spool, logs, pids,
# and the munge key/socket. Start and stop are idempotent. Settings: SLURM_LOCAL_CPUS (default 2, capped by
# nproc), SLURM_LOCAL_DIR. After `start`, run sbatch etc. with SLURM_CONF=$SLURM_LOCAL_DIR/slurm.conf (the
# script prints it) or source <(tools/slurm_local.sh env).
set -euo pipefail

dir=${SLURM_LOCAL_DIR:-/tmp/phi4flow-slurm}
cpus=${SLURM_LOCAL_CPUS:-2}
ncpu=$(nproc)
[ "$cpus" -gt "$ncpu" ] && cpus=$ncpu
conf=$dir/slurm.conf
munge_dir=$dir/munge
munge_socket=$munge_dir/munge.socket.2
host=$(hostname -s)

say() { echo "slurm_local: $*"; }
die() { echo "slurm_local: error: $*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "run as root (the local daemons run as root; this is for testing only)"
}

install_packages() {
  local missing=() p
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages may enable or start their own service units; this script runs its own daemons.
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_conf() {
  mkdir -p "$dir"/{state,spool,log,run} "$munge_dir"
  chmod 0755 "$dir" "$munge_dir"
  cat > "$conf" <<EOF
# Written by tools/slurm_local.sh: a one-node test cluster on localhost. Not for production.
ClusterName=phi4flow-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${SLURM_LOCAL_CTLD_PORT:-16817}
SlurmdPort=${SLURM_LOCAL_SLURMD_PORT:-16818}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Short intervals so test jobs (and signals at their time limit) are handled promptly.
SchedulerParameters=sched_interval=2
MessageTimeout=20
KillWait=30
InactiveLimit=0
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
  if pid_alive "$munge_dir/munged.pid"; then
    say "munged already running (pid $(cat "$munge_dir/munged.pid"))"
    return 0
  fi
  if [ ! -s "$munge_dir/munge.key" ]; then
    dd if=/dev/urandom of="$munge_dir/munge.key" bs=1 count=1024 status=none
  fi
  chmod 0400 "$munge_dir/munge.key"
  mkdir -p "$munge_dir/lib" "$munge_dir/log"
  chmod 0700 "$munge_dir/lib" "$munge_dir/log"
  chmod 0755 "$munge_dir"
  munged --force --key-file="$munge_dir/munge.key" --socket="$munge_socket" \
    --pid-file="$munge_dir/munged.pid" --seed-file="$munge_dir/lib/munge.seed" \
    --log-file="$munge_dir/log/munged.log"
  for _ in $(seq 50); do [ -S "$munge_socket" ] && break; sleep 0.1; done
  [ -S "$munge_socket" ] || die "munged did not create $munge_socket (see $munge_dir/log/munged.log)"
  munge -S "$munge_socket" -n | unmunge -S "$munge_socket" >/dev/null || die "munge self-test failed"
  say "munged started (socket $munge_socket)"
}

node_state() {
  SLURM_CONF=$conf sinfo -h -N -o '%T' -n localhost 2>/dev/null | head -1
}

start() {
  need_root
  install_packages
  if pid_alive "$dir/run/slurmctld.pid" && pid_alive "$dir/run/slurmd.pid"; then
    say "already running: node $(node_state)"
    say "use: export SLURM_CONF=$conf"
    return 0
  fi
  write_conf
  start_munge
  if ! pid_alive "$dir/run/slurmctld.pid"; then
    slurmctld -f "$conf" || die "slurmctld failed (see $dir/log/slurmctld.log)"
    say "slurmctld started"
  fi
  if ! pid_alive "$dir/run/slurmd.pid"; then
    slurmd -f "$conf" -N localhost || die "slurmd failed (see $dir/log/slurmd.log)"
    say "slurmd started"
  fi
  local state=""
  for _ in $(seq 60); do
    state=$(node_state)
    case "$state" in idle*|mixed*|allocated*) break ;; esac
    sleep 1
  done
  case "$state" in
    idle*|mixed*|allocated*) say "node localhost is $state ($cpus CPUs, partition local)" ;;
    *) die "node not idle after 60 s (state '${state:-none}'); see $dir/log/" ;;
  esac
  say "use: export SLURM_CONF=$conf"
}

stop_pid() {
  local name=$1 pidfile=$2
  if pid_alive "$pidfile"; then
    local pid
    pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    say "$name stopped"
  else
    say "$name not running"
  fi
  rm -f "$pidfile"
}

stop() {
  need_root
  if [ -f "$conf" ] && pid_alive "$dir/run/slurmctld.pid"; then
    # Cancel whatever is left so no slurmstepd outlives the daemons.
    SLURM_CONF=$conf scancel --partition=local 2>/dev/null || true
    sleep 1
  fi
  stop_pid slurmd "$dir/run/slurmd.pid"
  stop_pid slurmctld "$dir/run/slurmctld.pid"
  stop_pid munged "$munge_dir/munged.pid"
}

status() {
  local rc=0
  for d in slurmctld:$dir/run/slurmctld.pid slurmd:$dir/run/slurmd.pid munged:$munge_dir/munged.pid; do
    if pid_alive "${d#*:}"; then say "${d%%:*} running (pid $(cat "${d#*:}"))"; else say "${d%%:*} not running"; rc=1; fi
  done
  if [ $rc -eq 0 ]; then
    say "node localhost: $(node_state)"
    SLURM_CONF=$conf squeue 2>/dev/null || true
    say "use: export SLURM_CONF=$conf"
  fi
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
