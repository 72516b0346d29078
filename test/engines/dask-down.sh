#!/usr/bin/env bash
# Stops what test/engines/dask-up.sh started, by recorded pids (SIGTERM, then SIGKILL of the group).
set -uo pipefail
D=${DASK_DIR:-/tmp/rhapsody-dask}
stop() {  # $1 = pid file
  [ -f "$1" ] || return 0
  local p; p=$(cat "$1"); kill -TERM "$p" 2>/dev/null || { rm -f "$1"; return 0; }
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$p" 2>/dev/null
  rm -f "$1"
}
stop "$D/worker.pid"      # the nanny host: closes its worker processes first
stop "$D/scheduler.pid"
echo "dask-down: stopped"
