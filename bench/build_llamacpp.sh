#!/usr/bin/env bash
# Build llama-cpp-python (with its OpenAI-compatible server extra) ONCE and cache the wheel,
# so later installs (new venvs, CI) take seconds instead of ~5 minutes of C++ compilation.
#   bash bench/build_llamacpp.sh            # build if not cached, then install into .venv
#   VENV=/path/to/venv bash bench/build_llamacpp.sh
# Wheels live in ${REST_CACHE_DIR:-~/.cache/rest-harness}/wheels. The build runs under `nice`.
set -euo pipefail
VENV=${VENV:-.venv}
PIP="$VENV/bin/pip"
WHEELS="${REST_CACHE_DIR:-$HOME/.cache/rest-harness}/wheels"
VERSION=${LLAMA_CPP_VERSION:-0.3.36}
SPEC="llama-cpp-python==$VERSION"
mkdir -p "$WHEELS"
if ! ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "building $SPEC into $WHEELS (about 5 min on 2 cores)..."
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} nice -n 10 "$PIP" wheel --no-deps "$SPEC" -w "$WHEELS"
fi
# The server extra's pure-Python deps come from the index (or the same cache dir if pre-downloaded).
"$PIP" install -q --find-links "$WHEELS" "llama-cpp-python[server]==$VERSION"
"$VENV/bin/python" -c "import llama_cpp; print('llama-cpp-python', llama_cpp.__version__, 'ready')"
