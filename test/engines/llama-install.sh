#!/usr/bin/env bash
# Installs the embedded LLM engine (node-llama-cpp, an optional peer of rhapsody/inference/llama)
# without its optional GPU builds: node-llama-cpp@3.21.1 plus this platform's prebuilt CPU binary,
# into .cache/llama (it survives `npm ci`), linked as node_modules/node-llama-cpp. ~85 MB, ~15 s;
# nothing is downloaded at run time. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=3.21.1
DIR=.cache/llama
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) BIN=linux-x64 ;;
  Linux-aarch64) BIN=linux-arm64 ;;
  Darwin-arm64) BIN=mac-arm64-metal ;;
  Darwin-x86_64) BIN=mac-x64 ;;
  *) echo "llama-install: no prebuilt node-llama-cpp binary for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
if [ ! -f "$DIR/node_modules/node-llama-cpp/package.json" ] || ! grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/node-llama-cpp/package.json"; then
  mkdir -p "$DIR"
  [ -f "$DIR/package.json" ] || echo '{ "name": "rhapsody-llama-engine", "private": true }' > "$DIR/package.json"
  (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error --omit=optional -E \
    "node-llama-cpp@$VERSION" "@node-llama-cpp/$BIN@$VERSION")
fi
mkdir -p node_modules
ln -sfn "../$DIR/node_modules/node-llama-cpp" node_modules/node-llama-cpp
