#!/usr/bin/env bash
# Build and run the pipeline benchmark (not part of the tests).
#   bench/pipeline/run.sh [BUILD_DIR]
# BUILD_DIR is a CMake build of this tree with tests on; its static archive of
# the library's objects (tests/libpgbackup_testing.a) is linked in. Without it,
# an optimized build without sanitizers is made in ${TMPDIR:-/tmp}/pgbackup-bench-build.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-}
if [ -z "$build" ]; then
  build=${TMPDIR:-/tmp}/pgbackup-bench-build
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPGB_SANITIZE=OFF >/dev/null
  cmake --build "$build" -j"$(nproc)" --target pgbackup_testing >/dev/null
fi
archive=$build/tests/libpgbackup_testing.a
if [ ! -f "$archive" ]; then
  echo "run.sh: no $archive; build $build with tests (PGB_BUILD_TESTS=ON) first" >&2
  exit 1
fi

# Objects built with sanitizers need them at link time too, and run far slower.
sanitize=()
if grep -q '^PGB_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "run.sh: warning: $build uses sanitizers; figures are not representative" >&2
  sanitize=(-fsanitize=address,undefined)
fi

program=$build/pipeline_bench
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror ${sanitize[@]+"${sanitize[@]}"} \
  -I "$root/src" -I "$root/include" "$root/bench/pipeline/pipeline_bench.c" "$archive" \
  $(pkg-config --libs libzstd liblz4 zlib libcrypto jansson libpq) -lpthread -o "$program"
exec "$program"
