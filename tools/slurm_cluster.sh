#!/usr/bin/env bash
# A multi-node SLURM test cluster on one machine (Debian 12: slurm-wlm 22.05, munge, iproute2), for running
# jobs/ across nodes as on a real cluster. NOT for production: the daemons run as root with a throwaway config.
#
#   tools/slurm_cluster.sh start [N]   # N nodes (default 2): install what is missing, start munged, slurmctld, slurmds
#   tools/slurm_cluster.sh status      # daemons, nodes and queue
#   tools/slurm_cluster.sh stop        # cancel the jobs, stop the daemons, remove namespaces, bridge and host files
#   tools/slurm_cluster.sh env         # the export line for sbatch/squeue/scontrol: eval "$(tools/slurm_cluster.sh env)"
#
# Each node is a slurmd in its own network and UTS namespace (hostname nodeI, address SUBNET.I on eth0, a veth pair
# whose other end is on the bridge p4fbr0); slurmctld runs on the host at SUBNET.254, the bridge's only address.
# Nothing else is routed: the nodes reach each other and the controller over the bridge, and nothing outside. The
# file system (and so the munge socket, the binaries and the job outputs) is shared, as on a real cluster;
# each node has its own /etc/hosts (/etc/netns/phi4flow-nodeI/hosts), so that node names resolve, and its own
# scratch folder $dir/local/node (both bind-mounted in the node's mount namespace). Every process a job starts on
# nodeI lives in nodeI's namespaces: MPI between nodes goes over TCP.
#
# Settings: SLURM_CLUSTER_DIR (default /tmp/phi4flow-cluster: slurm.conf, state, spools, logs, munge key and socket),
# SLURM_CLUSTER_CPUS (CPUs of each node, default nproc: two nodes of a 2-core machine share its cores, so ranks on
# different nodes compete for them), SLURM_CLUSTER_SUBNET (default 10.77.0, a /24 that must be free on this host).
# Start and stop are idempotent; `start N` with a different N from the running cluster's restarts it.
set -euo pipefail

dir=${SLURM_CLUSTER_DIR:-/tmp/phi4flow-cluster}
subnet=${SLURM_CLUSTER_SUBNET:-10.77.0}
cpus=${SLURM_CLUSTER_CPUS:-$(nproc)}
conf=$dir/slurm.conf
munge_dir=$dir/munge
munge_socket=$munge_dir/munge.socket.2
bridge=p4fbr0
ctld_addr=$subnet.254
ctld_host=$(hostname -s)   # slurmctld insists on running on the host that slurm.conf names

say() { echo "slurm_cluster: $*"; }
die() { echo "slurm_cluster: error: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" -eq 0 ] || die "run as root (namespaces, a bridge and root daemons; for testing only)"; }
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
netns_name() { echo "phi4flow-node$1"; }
# The node count of the running (or last started) cluster, from its slurm.conf.
configured_nodes() { sed -n 's/^# nodes: //p' "$conf" 2>/dev/null || true; }

install_packages() {
  local missing=() p
  for p in slurm-wlm munge iproute2; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

write_conf() {
  local n=$1
  mkdir -p "$dir"/{state,spool,log,run} "$munge_dir"
  chmod 0755 "$dir" "$munge_dir"
  cat > "$conf" <<EOF
# Written by tools/slurm_cluster.sh: a test cluster of network-namespace nodes on one machine. Not for production.
# nodes: $n
ClusterName=phi4flow-test
SlurmctldHost=$ctld_host($ctld_addr)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${SLURM_CLUSTER_CTLD_PORT:-16817}
SlurmdPort=${SLURM_CLUSTER_SLURMD_PORT:-16818}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_socket
StateSaveLocation=$dir/state
# %n: each node's own spool, pid and log file (one shared file system)
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.%n.log
# Node-local scratch (PMIx's client directories, which would collide in a shared /tmp): $dir/local/node is
# $dir/local/nodeI on nodeI (mpi.conf: PMIxCliTmpDirBase)
TmpFS=$dir/local/node
ProctrackType=proctrack/linuxproc
# No CPU binding: the nodes share this machine's cores, and binding would put rank 0 of every node on core 0.
TaskPlugin=task/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# The nodes' hardware is this machine's, shared: take the CPU counts below as given.
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=1
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Short intervals so that test jobs, dependencies and time-limit signals are handled promptly.
SchedulerParameters=sched_interval=2
MessageTimeout=20
KillWait=30
InactiveLimit=0
MinJobAge=600
NodeName=node[1-$n] NodeAddr=$subnet.[1-$n] NodeHostname=node[1-$n] CPUs=$cpus State=UNKNOWN
PartitionName=cluster Nodes=node[1-$n] Default=YES MaxTime=INFINITE State=UP
EOF
  echo "PMIxCliTmpDirBase=$dir/local/node" > "$dir/mpi.conf"
}

start_munge() {
  if pid_alive "$munge_dir/munged.pid"; then return 0; fi
  [ -s "$munge_dir/munge.key" ] || dd if=/dev/urandom of="$munge_dir/munge.key" bs=1 count=1024 status=none
  chmod 0400 "$munge_dir/munge.key"
  mkdir -p "$munge_dir/lib" "$munge_dir/log"
  chmod 0700 "$munge_dir/lib" "$munge_dir/log"
  munged --force --key-file="$munge_dir/munge.key" --socket="$munge_socket" \
    --pid-file="$munge_dir/munged.pid" --seed-file="$munge_dir/lib/munge.seed" --log-file="$munge_dir/log/munged.log"
  for _ in $(seq 50); do [ -S "$munge_socket" ] && break; sleep 0.1; done
  [ -S "$munge_socket" ] || die "munged did not create $munge_socket (see $munge_dir/log/munged.log)"
  munge -S "$munge_socket" -n | unmunge -S "$munge_socket" >/dev/null || die "munge self-test failed"
  say "munged started (socket $munge_socket, shared by all nodes)"
}

make_network() {
  local n=$1 i ns
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip -4 addr show | grep -q " $subnet\." && die "subnet $subnet.0/24 is already in use here: set SLURM_CLUSTER_SUBNET"
    ip link add "$bridge" type bridge
    ip addr add "$ctld_addr/24" dev "$bridge"
    ip link set "$bridge" up
  fi
  for i in $(seq "$n"); do
    ns=$(netns_name "$i")
    ip netns list | grep -qw "$ns" && continue
    ip netns add "$ns"
    ip link add "p4fveth$i" type veth peer name eth0 netns "$ns"
    ip link set "p4fveth$i" master "$bridge" up
    ip -n "$ns" addr add "$subnet.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    mkdir -p "/etc/netns/$ns"
    {
      echo "127.0.0.1 localhost"
      echo "$ctld_addr $ctld_host"
      for j in $(seq "$n"); do echo "$subnet.$j node$j"; done
    } > "/etc/netns/$ns/hosts"
  done
}

nodes_state() { SLURM_CONF=$conf sinfo -h -N -o '%N %T' 2>/dev/null | sort -u; }

start() {
  local n=${1:-2} running i ns state bad
  need_root
  [[ $n =~ ^[1-9][0-9]?$ ]] || die "start N: N must be a node count from 1 to 99, not '$n'"
  running=$(configured_nodes)
  if [ -n "$running" ] && [ "$running" != "$n" ] && pid_alive "$dir/run/slurmctld.pid"; then
    say "running with $running nodes; restarting with $n"
    stop
  fi
  install_packages
  write_conf "$n"
  start_munge
  make_network "$n"
  if ! pid_alive "$dir/run/slurmctld.pid"; then
    slurmctld -f "$conf" || die "slurmctld failed (see $dir/log/slurmctld.log)"
    say "slurmctld started on $ctld_addr"
  fi
  for i in $(seq "$n"); do
    pid_alive "$dir/run/slurmd.node$i.pid" && continue
    ns=$(netns_name "$i")
    mkdir -p "$dir/spool/node$i" "$dir/local/node$i" "$dir/local/node"
    # slurmd forks into the background and keeps the namespaces: its job steps live in them too.
    # Not `ip netns exec`, which remounts /sys without the cgroup file system that slurmd needs: the node's own
    # mount namespace only replaces /etc/hosts and its local scratch.
    nsenter --net="/run/netns/$ns" unshare --uts --mount --propagation slave sh -c \
      "mount --bind '/etc/netns/$ns/hosts' /etc/hosts && mount --bind '$dir/local/node$i' '$dir/local/node' &&
       hostname node$i && exec slurmd -f '$conf' -N node$i" \
      || die "slurmd on node$i failed (see $dir/log/slurmd.node$i.log)"
  done
  for _ in $(seq 60); do
    state=$(nodes_state)
    bad=$(awk '$2 !~ /^(idle|mixed|allocated)/' <<< "$state")
    [ -n "$state" ] && [ -z "$bad" ] && break
    sleep 1
  done
  [ -n "$state" ] && [ -z "$bad" ] || die "nodes not up after 60 s: ${bad:-none registered}; see $dir/log/"
  say "$n node(s) up ($cpus CPUs each, partition cluster): $(tr '\n' ' ' <<< "$state")"
  say "use: export SLURM_CONF=$conf"
}

stop_pid() {  # NAME PIDFILE
  local pid
  if pid_alive "$2"; then
    pid=$(cat "$2")
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    say "$1 stopped"
  fi
  rm -f "$2"
}

stop() {
  local ns pids f
  need_root
  if [ -f "$conf" ] && pid_alive "$dir/run/slurmctld.pid"; then
    SLURM_CONF=$conf scancel --partition=cluster 2>/dev/null || true   # so that no slurmstepd outlives its slurmd
    sleep 1
  fi
  for f in "$dir"/run/slurmd.*.pid; do [ -e "$f" ] && stop_pid "slurmd $(basename "$f" .pid | sed 's/^slurmd\.//')" "$f"; done
  stop_pid slurmctld "$dir/run/slurmctld.pid"
  stop_pid munged "$munge_dir/munged.pid"
  # Whatever still runs in a node's namespace (a step daemon, a rank) goes with it.
  for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^phi4flow-node[0-9]+$/ { print $1 }'); do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    ip netns del "$ns"
    rm -rf "/etc/netns/$ns"
  done
  rmdir /etc/netns 2>/dev/null || true
  if ip link show "$bridge" >/dev/null 2>&1; then ip link del "$bridge"; fi
  say "stopped: no daemons, namespaces or bridge left"
}

status() {
  local rc=0 f n
  n=$(configured_nodes)
  pid_alive "$munge_dir/munged.pid" && say "munged running" || { say "munged not running"; rc=1; }
  pid_alive "$dir/run/slurmctld.pid" && say "slurmctld running" || { say "slurmctld not running"; rc=1; }
  for i in $(seq "${n:-0}"); do
    f=$dir/run/slurmd.node$i.pid
    pid_alive "$f" && say "slurmd node$i running (netns $(netns_name "$i"))" || { say "slurmd node$i not running"; rc=1; }
  done
  [ -n "$n" ] || { say "no cluster configured in $dir"; rc=1; }
  if [ $rc -eq 0 ]; then
    nodes_state | sed 's/^/slurm_cluster: node /'
    SLURM_CONF=$conf squeue 2>/dev/null || true
    say "use: export SLURM_CONF=$conf"
  fi
  return $rc
}

case "${1:-}" in
  start) start "${2:-2}" ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: $0 start [N] | stop | status | env" >&2; exit 2 ;;
esac
