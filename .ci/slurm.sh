#!/usr/bin/env bash
# A single-node Slurm (Debian's slurm-wlm + munge, no systemd, no slurmdbd) for CI:
#   .ci/slurm.sh start   install (apt-get, as root) if needed, write slurm.conf, start munged,
#                        slurmctld and slurmd, wait for the node to be idle, smoke-test sbatch
#   .ci/slurm.sh stop    stop every daemon this script started, by the PID it recorded
# State, logs and PID files live in $SLURM_CI_DIR (default .slurm-ci/). Two partitions:
# `debug` (default) and `batch`, so a test can see a partition it asked for. Without
# slurmdbd, sacct cannot report job states: Snakemake's plugin must poll with
# `--slurm-status-command squeue`, and MinJobAge=300 keeps finished jobs visible to it.
# Adapted from the tested reference script local_slurm_cluster.sh of this project's team.
set -euo pipefail
BASE=${SLURM_CI_DIR:-$PWD/.slurm-ci}
NODE=$(hostname -s)
ts() { printf '[slurm-ci %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

stop_pid() { # $1 = pid file: TERM, wait up to 30 s, then KILL
  local f=$1 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" || true
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" || true; fi
    ts "stopped $(basename "$f" .pid) (pid $pid)"
  fi
  rm -f "$f"
}

stop() {
  [ -d "$BASE/run" ] || return 0
  if [ -s "$BASE/run/slurmctld.pid" ] && kill -0 "$(cat "$BASE/run/slurmctld.pid")" 2>/dev/null; then
    scancel -u "$(id -un)" 2>/dev/null || true
  fi
  stop_pid "$BASE/run/slurmd.pid"
  stop_pid "$BASE/run/slurmctld.pid"
  stop_pid "$BASE/run/munged.pid"   # only present when this script started munged
}

start() {
  if [ "$(id -u)" != 0 ]; then echo "slurm-ci: must run as root" >&2; return 1; fi
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    ts "apt-get install slurm-wlm munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null
    apt-get -o DPkg::Lock::Timeout=300 -y -q install --no-install-recommends slurm-wlm munge >/dev/null
  fi
  ts "slurm $(dpkg-query -W -f='${Version}' slurmctld)"
  stop
  rm -rf "$BASE/state" "$BASE/spool" "$BASE/log" "$BASE/run"
  mkdir -p "$BASE/state" "$BASE/spool" "$BASE/log" "$BASE/run"

  if [ ! -s /etc/munge/munge.key ]; then mungekey --create --keyfile=/etc/munge/munge.key; fi
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge   # systemd's RuntimeDirectory
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    ts "munged already running, reusing it"
  else
    runuser -u munge -- /usr/sbin/munged
    cp /run/munge/munged.pid "$BASE/run/munged.pid"
    munge -n | unmunge >/dev/null
    ts "munged started (pid $(cat "$BASE/run/munged.pid"))"
  fi

  local mem
  mem=$(awk '/MemAvailable/ {m=int($2/1024/2); print (m>8000?8000:m)}' /proc/meminfo)
  mkdir -p /etc/slurm
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$BASE/log/jobcomp.txt
MinJobAge=300
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=batch Nodes=ALL Default=NO MaxTime=INFINITE State=UP
CONF
  /usr/sbin/slurmctld
  for _ in $(seq 60); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.5; done
  /usr/sbin/slurmd
  for _ in $(seq 120); do [ "$(sinfo -h -p debug -n "$NODE" -o %T 2>/dev/null)" = idle ] && break; sleep 0.5; done
  [ "$(sinfo -h -p debug -n "$NODE" -o %T)" = idle ]
  mkdir -p "$BASE/smoke"
  local jid
  jid=$(timeout 120 sbatch --parsable --wait -t 1 -o "$BASE/smoke/%j.out" --wrap 'echo ok')
  [ "$(cat "$BASE/smoke/$jid.out")" = ok ]
  ts "slurmctld (pid $(cat "$BASE/run/slurmctld.pid")) + slurmd (pid $(cat "$BASE/run/slurmd.pid")) up, node $NODE idle, smoke job $jid ok"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
