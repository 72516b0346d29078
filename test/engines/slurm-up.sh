#!/usr/bin/env bash
# Starts a throw-away multi-node SLURM cluster on this host (no systemd): a private munged, slurmctld,
# and one slurmd per fake node (`slurmd -N nX`), each with fake GPUs (gres File= entries pointing at
# /dev/null), so srun really allocates GPUs and sets CUDA_VISIBLE_DEVICES.
#   sudo test/engines/slurm-up.sh && source /tmp/rhapsody-slurm/env.sh
# Env: RHAPSODY_SLURM_DIR (/tmp/rhapsody-slurm), SLURM_NODES (2), SLURM_CPUS (8), SLURM_GPUS (4),
#      SLURM_CTLD_PORT (16817), SLURM_NODE_PORT0 (17000)
set -euo pipefail
D=${RHAPSODY_SLURM_DIR:-/tmp/rhapsody-slurm}
NODES=${SLURM_NODES:-2}; CPUS=${SLURM_CPUS:-8}; GPUS=${SLURM_GPUS:-4}
CTLD_PORT=${SLURM_CTLD_PORT:-16817}; PORT0=${SLURM_NODE_PORT0:-17000}
H=$(hostname -s)

need=()
for b in slurmctld slurmd srun munged; do command -v "$b" >/dev/null || need+=("$b"); done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "slurm-up: SLURM is not installed and this is not root" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

if [ -e "$D/slurmctld.pid" ] && kill -0 "$(cat "$D/slurmctld.pid")" 2>/dev/null; then
  echo "slurm-up: already running in $D"; exit 0
fi
rm -rf "$D"; mkdir -p "$D"/{etc,state,spool,log,dev,tmp}; chmod 755 "$D"

# munge with its own key and socket
dd if=/dev/urandom of="$D/munge.key" bs=1024 count=1 status=none; chmod 600 "$D/munge.key"
/usr/sbin/munged --socket="$D/munge.sock" --key-file="$D/munge.key" --pid-file="$D/munged.pid" \
  --log-file="$D/log/munged.log" --seed-file="$D/munge.seed"

for i in $(seq 0 $((GPUS-1))); do ln -s /dev/null "$D/dev/gpu$i"; done
cat > "$D/etc/slurm.conf" <<CONF
ClusterName=rhapsody
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmctldPort=$CTLD_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge.sock
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
TmpFS=$D/tmp/%n
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.%n.log
ProctrackType=proctrack/linuxproc
# task/affinity cannot lay out more declared CPUs than real cores
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_min_interval=0
ReturnToService=2
# trust the CPUs=/Gres= below rather than draining the fake nodes
SlurmdParameters=config_overrides
KillWait=2
MinJobAge=60
MessageTimeout=10
InactiveLimit=0
SlurmdTimeout=30
MailProg=/bin/true
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.log
CONF
for n in $(seq 1 "$NODES"); do
  echo "NodeName=n$n NodeHostname=$H NodeAddr=127.0.0.1 Port=$((PORT0+n)) CPUs=$CPUS Sockets=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=4000 Gres=gpu:$GPUS State=UNKNOWN" >> "$D/etc/slurm.conf"
done
echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP" >> "$D/etc/slurm.conf"
printf 'AutoDetect=off\nNodeName=n[1-%s] Name=gpu File=%s/dev/gpu[0-%s]\n' "$NODES" "$D" "$((GPUS-1))" > "$D/etc/gres.conf"
echo "export SLURM_CONF=$D/etc/slurm.conf" > "$D/env.sh"
export SLURM_CONF=$D/etc/slurm.conf

slurmctld -f "$SLURM_CONF" -c
for n in $(seq 1 "$NODES"); do mkdir -p "$D/spool/n$n" "$D/tmp/n$n"; slurmd -f "$SLURM_CONF" -N "n$n"; done

for _ in $(seq 1 120); do
  st=$(sinfo -h -o '%t' 2>/dev/null | sort -u | tr '\n' ' ')
  [ "$st" = "idle " ] && break
  sleep 0.25
done
if [ "$st" != "idle " ]; then
  echo "slurm-up: nodes not idle: '$st'" >&2; tail -n 20 "$D"/log/*.log >&2; exit 1
fi
echo "slurm-up: $NODES nodes x $CPUS CPUs x $GPUS GPUs (source $D/env.sh)"
