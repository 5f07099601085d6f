#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for tests/test_slurm.py and for trying profiles/slurm by hand.
# Installs nothing (Debian: apt-get install slurmctld slurmd slurm-client munge). Needs root (no systemd,
# no cgroups: proctrack/linuxproc, task/none; no accounting, so snakemake uses squeue for job status).
#
#   tools/slurm-cluster.sh start   # writes /etc/slurm/slurm.conf, starts munged (if none runs), slurmctld, slurmd
#   tools/slurm-cluster.sh stop    # stops exactly the daemons `start` started (pid files), removes that config
#
# STATE (default /tmp/bnn-slurm) holds pid files, spool and logs. The config must be at the default path:
# snakemake's jobstep plugin drops SLURM_* variables (SLURM_CONF too) before its srun inside each job.
# A slurm.conf that this script did not write is never overwritten.
set -euo pipefail
STATE=${STATE:-/tmp/bnn-slurm}
CONF=/etc/slurm/slurm.conf
MARKER="# written by bnn-flow tools/slurm-cluster.sh"
MUNGE_KEY=/etc/munge/munge.key
MUNGE_SOCKET=/run/munge/munge.socket.2

die() { echo "slurm-cluster: $*" >&2; exit 1; }

need() {
  for cmd in slurmctld slurmd sbatch squeue munged; do
    command -v "$cmd" >/dev/null || [ -x "/usr/sbin/$cmd" ] ||
      die "$cmd not found; install: apt-get install -y slurmctld slurmd slurm-client munge"
  done
  [ "$(id -u)" = 0 ] || die "run as root (the daemons run as SlurmUser=root)"
}

write_conf() {
  local node mem
  node=$(hostname -s)
  mem=$(( $(awk '/^MemTotal:/{print int($2 / 1024)}' /proc/meminfo) - 2048 ))
  mkdir -p "$STATE/spool/ctld" "$STATE/spool/d" "$STATE/log"
  [ ! -e "$CONF" ] || head -n 1 "$CONF" | grep -qxF "$MARKER" || die "$CONF exists and is not ours; move it away"
  mkdir -p "$(dirname "$CONF")"
  cat > "$CONF" <<CONF
$MARKER
ClusterName=bnnflow
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmdSpoolDir=$STATE/spool/d
StateSaveLocation=$STATE/spool/ctld
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
  [ -S "$MUNGE_SOCKET" ] && munge -n </dev/null >/dev/null 2>&1 && return 0  # a working munged: use it
  [ -s "$MUNGE_KEY" ] || { mungekey --create --keyfile "$MUNGE_KEY" && chown munge:munge "$MUNGE_KEY"; }
  mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged
  # munged insists on its own pid file in a root-only folder; keep a copy next to ours for stop
  for _ in $(seq 20); do [ -s /run/munge/munged.pid ] && break; sleep 0.2; done
  cp /run/munge/munged.pid "$STATE/munged.pid"
}

start() {
  need
  [ -s "$STATE/slurmctld.pid" ] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null &&
    die "already running (pid file $STATE/slurmctld.pid); stop it first"
  mkdir -p "$STATE"
  write_conf
  start_munge
  /usr/sbin/slurmctld -f "$CONF"
  /usr/sbin/slurmd -f "$CONF"
  for _ in $(seq 60); do
    sinfo -h -o %T 2>/dev/null | grep -qx idle && { sinfo; return 0; }
    sleep 0.5
  done
  tail -n 5 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
  die "the node did not become idle within 30 s (logs above, in $STATE/log)"
}

stop() {
  local name pid
  for name in slurmd slurmctld munged; do
    [ -s "$STATE/$name.pid" ] || continue
    pid=$(cat "$STATE/$name.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$STATE/$name.pid"
  done
  if [ -e "$CONF" ] && head -n 1 "$CONF" | grep -qxF "$MARKER"; then rm -f "$CONF"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop  (STATE=$STATE)" ;;
esac
