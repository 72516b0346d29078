#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages, from Debian's packages, so that
# `npm ci && npm test` works on a fresh Debian/Ubuntu machine (as root; otherwise it only reports):
# chromium (report rendering), SLURM + munge (a multi-node cluster on localhost, started by
# test/global-setup.ts), Open MPI and redis-server (DistributedExecutionBackend); and, from npm,
# node-llama-cpp (the embedded inference engine; test/engines/llama-install.sh).
set -u
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v slurmctld >/dev/null 2>&1 || need+=(slurmctld)
command -v slurmd >/dev/null 2>&1 || need+=(slurmd)
command -v srun >/dev/null 2>&1 || need+=(slurm-client)
command -v munged >/dev/null 2>&1 || need+=(munge)
command -v mpirun >/dev/null 2>&1 || need+=(openmpi-bin)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# Dask (DaskExecutionBackend): Debian's python3-distributed, seen by /usr/bin/python3
/usr/bin/python3 -c 'import distributed' >/dev/null 2>&1 || need+=(python3-distributed)
# the embedded LLM engine (node-llama-cpp, CPU build, no GPU variants) for the inference tests
bash "$(dirname "$0")/engines/llama-install.sh" >&2 || echo "node-llama-cpp could not be installed: the inference tests will fail" >&2
[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "provisioning: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "missing: ${need[*]} — install them (apt-get install ${need[*]}); the tests that need them will fail" >&2
fi
exit 0
