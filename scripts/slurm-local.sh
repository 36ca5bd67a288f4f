#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, on loopback only, for trying `lenna run --executor slurm`
# and for its tests (npm run test:slurm). Needs root and Debian's (or Ubuntu's) packages:
#   apt-get install slurmctld slurmd slurm-client munge
#
#   scripts/slurm-local.sh up       start munged, slurmctld and slurmd (does nothing if they run)
#   scripts/slurm-local.sh down     stop them and remove everything `up` made
#   scripts/slurm-local.sh status   say whether the cluster is up (exit 0) or not (exit 1)
#
# Everything lives in $LENNA_SLURM_DIR (default /tmp/lenna-slurm): the config, a munge key made for
# it, state, logs and pid files. The daemons bind to 127.0.0.1 only. The node is this machine
# (NodeName=$(hostname), NodeAddr=127.0.0.1, CPUs=2 unless LENNA_SLURM_CPUS says otherwise), in one
# partition `lenna`. Where /etc/slurm/slurm.conf does not exist, `up` links it to this config so
# that sbatch, squeue and lenna find the cluster without SLURM_CONF; `down` removes that link.
set -euo pipefail

state=${LENNA_SLURM_DIR:-/tmp/lenna-slurm}
conf=$state/slurm.conf
socket=$state/munge/munge.socket
node=$(hostname -s)
etc_conf=/etc/slurm/slurm.conf

say() { printf 'slurm-local: %s\n' "$*"; }
die() { printf 'slurm-local: %s\n' "$*" >&2; exit 1; }

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

require() {
  [[ $(id -u) -eq 0 ]] || die "needs root (the daemons run as root); run it with sudo."
  local missing=()
  for program in munged mungekey slurmctld slurmd sbatch squeue scontrol; do
    command -v "$program" >/dev/null 2>&1 || missing+=("$program")
  done
  [[ ${#missing[@]} -eq 0 ]] || die "${missing[*]} not found; install them with: apt-get install slurmctld slurmd slurm-client munge"
}

write_config() {
  local cpus=${LENNA_SLURM_CPUS:-2}
  # Memory SLURM may hand out: 90% of this machine's, in MB (a job asking for more is refused at sbatch).
  local mem_mb
  mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 * 0.9 / 1024 }' /proc/meminfo)
  cat >"$conf" <<EOF
# Written by scripts/slurm-local.sh: a one-node cluster on loopback.
ClusterName=lenna-local
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=${LENNA_SLURM_CTLD_PORT:-6817}
SlurmdPort=${LENNA_SLURM_D_PORT:-6818}
# Bind to 127.0.0.1 (the address of the node), never to every interface.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# No accounting database: a finished job is known to scontrol for an hour.
MinJobAge=3600
KillWait=10
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=lenna Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
}

cluster_answers() { SLURM_CONF=$conf timeout 10 sinfo -h -o %T >/dev/null 2>&1; }

up() {
  require
  if alive "$state/munged.pid" && alive "$state/slurmctld.pid" && alive "$state/slurmd.pid" && cluster_answers; then
    say "already up (SLURM_CONF=$conf)"
    link_config
    return 0
  fi
  # Whatever is left of an earlier, half-started cluster goes first.
  stop_daemons
  mkdir -p "$state"/{munge,ctld,d,log}
  chmod 700 "$state/munge"
  [[ -f $state/munge/munge.key ]] || mungekey --create --keyfile="$state/munge/munge.key" --force >/dev/null
  chmod 600 "$state/munge/munge.key"
  write_config
  munged --socket="$socket" --key-file="$state/munge/munge.key" --pid-file="$state/munged.pid" \
    --log-file="$state/log/munged.log" --seed-file="$state/munge/munged.seed" --force
  SLURM_CONF=$conf slurmctld -f "$conf"
  SLURM_CONF=$conf slurmd -f "$conf" -N "$node"
  local tries=0
  until SLURM_CONF=$conf timeout 10 sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; do
    tries=$((tries + 1))
    if ((tries > 60)); then
      tail -n 5 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
      die "the node did not come up within 60 s; logs in $state/log"
    fi
    # A node that was down in an earlier life of the cluster is told to serve again.
    SLURM_CONF=$conf scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true
    sleep 1
  done
  link_config
  say "up: partition lenna, node $node (127.0.0.1); SLURM_CONF=$conf"
}

# sbatch and lenna read /etc/slurm/slurm.conf unless SLURM_CONF says otherwise; claim it only if free.
link_config() {
  if [[ ! -e $etc_conf && ! -L $etc_conf ]]; then
    mkdir -p "$(dirname "$etc_conf")"
    ln -s "$conf" "$etc_conf"
  elif [[ $(readlink "$etc_conf" 2>/dev/null || true) != "$conf" ]]; then
    say "$etc_conf is another cluster's; export SLURM_CONF=$conf to use this one"
  fi
}

stop_one() {
  local pidfile=$1
  alive "$pidfile" || return 0
  local pid
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
}

stop_daemons() {
  # Jobs still running end with their node daemon: cancel them first, so none is left behind.
  if alive "$state/slurmctld.pid"; then SLURM_CONF=$conf timeout 10 scancel --full -u root >/dev/null 2>&1 || true; fi
  stop_one "$state/slurmd.pid"
  stop_one "$state/slurmctld.pid"
  stop_one "$state/munged.pid"
}

down() {
  require
  stop_daemons
  if [[ -L $etc_conf && $(readlink "$etc_conf") == "$conf" ]]; then rm -f "$etc_conf"; fi
  rm -rf "$state"
  say "down"
}

status() {
  if alive "$state/slurmctld.pid" && alive "$state/slurmd.pid" && cluster_answers; then
    say "up (SLURM_CONF=$conf)"
  else
    say "not up"
    return 1
  fi
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: scripts/slurm-local.sh up|down|status" ;;
esac
