#!/usr/bin/env bash
# Stops what slurm-up.sh started, by the PIDs it recorded.
set -uo pipefail
D=${RHAPSODY_SLURM_DIR:-/tmp/rhapsody-slurm}
export SLURM_CONF=$D/etc/slurm.conf
[ -d "$D" ] || exit 0
scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
pids=()
for f in "$D"/slurmd.*.pid "$D"/slurmctld.pid; do
  [ -f "$f" ] || continue
  p=$(cat "$f"); kill "$p" 2>/dev/null && pids+=("$p")
done
for _ in $(seq 1 40); do
  alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break; sleep 0.25
done
for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
if [ -f "$D/munged.pid" ]; then kill "$(cat "$D/munged.pid")" 2>/dev/null; fi
rm -f "$D"/*.pid
echo "slurm-down: stopped"
