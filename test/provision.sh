#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages (as root, from Debian's packages), so that
# `npm ci && npm test` works on a fresh Debian/Ubuntu machine. Without root it only reports.
set -u
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "provisioning: ${need[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "missing: ${need[*]} — install them (e.g. apt-get install ${need[*]}); the tests that need them will fail" >&2
fi
exit 0
