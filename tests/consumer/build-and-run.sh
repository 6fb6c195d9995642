#!/usr/bin/env bash
# Build tests/consumer against an installed libpgbackup in two ways and run it.
#   build-and-run.sh PREFIX WORKDIR
set -euo pipefail
prefix=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"

echo "-- with pkg-config"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc -std=c11 -Wall -Wextra -Werror -o "$work/consumer-pkgconfig" \
  "$here/main.c" $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs libpgbackup)
LD_LIBRARY_PATH="$prefix/lib" "$work/consumer-pkgconfig"

echo "-- with find_package(pgbackup)"
cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
LD_LIBRARY_PATH="$prefix/lib" "$work/cmake/consumer"
