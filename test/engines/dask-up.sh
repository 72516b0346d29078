#!/usr/bin/env bash
# Starts a Dask scheduler + workers on 127.0.0.1 (no systemd) for the tests that need an existing
# scheduler (DaskExecutionBackend's `address`); test/engines/dask-down.sh stops them by recorded pids.
#   DASK_DIR=/tmp/rhapsody-dask DASK_PORT=18786 DASK_WORKERS=2 DASK_THREADS=1 DASK_RESOURCES="GPU=2" test/engines/dask-up.sh
# Uses /usr/bin/python3: a `python3` earlier on PATH (pyenv) may not see Debian's python3-distributed.
set -euo pipefail
D=${DASK_DIR:-/tmp/rhapsody-dask}
PORT=${DASK_PORT:-18786}
NW=${DASK_WORKERS:-2}
NT=${DASK_THREADS:-1}
RES=${DASK_RESOURCES:-GPU=2}
PY=${DASK_PYTHON:-/usr/bin/python3}
if ! $PY -c 'import distributed' 2>/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "dask-up: python3-distributed is not installed and this is not root" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-distributed >/dev/null
fi
if [ -f "$D/scheduler.pid" ] && kill -0 "$(cat "$D/scheduler.pid")" 2>/dev/null; then
  echo "dask-up: already running in $D" >&2; exit 1
fi
rm -rf "$D"; mkdir -p "$D/work"
# setsid: each is a process-group leader, so dask-down can kill what it leaves behind as a group
setsid $PY -m distributed.cli.dask_scheduler --host 127.0.0.1 --port "$PORT" --no-dashboard \
  --scheduler-file "$D/scheduler.json" --pid-file "$D/scheduler.pid" >"$D/scheduler.log" 2>&1 </dev/null &
for _ in $(seq 1 300); do [ -s "$D/scheduler.json" ] && break; sleep 0.1; done
[ -s "$D/scheduler.json" ] || { cat "$D/scheduler.log" >&2; exit 1; }
# one `dask worker` process hosts $NW nannies; each nanny runs one worker process (restarted if it dies)
setsid $PY -m distributed.cli.dask_worker "tcp://127.0.0.1:$PORT" --host 127.0.0.1 --nworkers "$NW" --nthreads "$NT" \
  --name w --resources "$RES" --memory-limit 2GB --no-dashboard --local-directory "$D/work" \
  --pid-file "$D/worker.pid" >"$D/worker.log" 2>&1 </dev/null &
$PY - "$PORT" "$NW" <<'PYEOF'
import sys
from distributed import Client
with Client(f"tcp://127.0.0.1:{sys.argv[1]}", timeout=30) as c:
    c.wait_for_workers(int(sys.argv[2]), timeout=90)
PYEOF
echo "dask-up: scheduler tcp://127.0.0.1:$PORT (pid $(cat "$D/scheduler.pid")), $NW workers x $NT threads [$RES]"
