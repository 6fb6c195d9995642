#!/usr/bin/env bash
# Storage backend benchmark (not part of the tests): physical backup throughput
# to an S3-compatible server (s3rver) and to SFTP (OpenSSH) on loopback,
# against the posix backend, on one throwaway PostgreSQL 15 cluster loaded by
# pgbench; pgBackRest to the same s3rver (over TLS: pgBackRest speaks only
# HTTPS to S3) and to a local path for comparison.
#   bench/storage/run.sh [BUILD_DIR]
#
# Prints, per target, the fastest of PGB_BENCH_RUNS runs (default 3): seconds,
# MB/s (database size / seconds) and the ratio to the posix backend of the
# same tool (1.00 = as fast as a local folder); s3tls is the same s3rver over
# HTTPS, the way pgBackRest reaches it. s3rver is a Node.js program
# that writes every object to its own folder, so the S3 figures measure
# pgbackup's client side and s3rver together; on loopback nothing is lost to
# the network.
#
# Run as root on Debian 12 (installs what is missing, runs PostgreSQL and the
# servers as ${PGB_TEST_USER:-pgbtest}) or as that user once installed.
# PGB_BENCH_SCALE sets the pgbench scale (default 20, about 300 MB).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
server_user=${PGB_TEST_USER:-pgbtest}
scale=${PGB_BENCH_SCALE:-20}
runs=${PGB_BENCH_RUNS:-3}
bindir=/usr/lib/postgresql/15/bin
build=${1:-}
say() { printf '==> %s\n' "$*" >&2; }

if [ "$(id -u)" -eq 0 ]; then
  "$root/scripts/install-deps"
  dpkg-query -W -f='${Status}' pgbackrest 2>/dev/null | grep -q 'install ok installed' ||
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbackrest >/dev/null || true; }
  id -u "$server_user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$server_user"
  as_user() { runuser -u "$server_user" -- env HOME="$work/home" TMPDIR="$work/tmp" LD_LIBRARY_PATH="$work/bin" "$@"; }
else
  server_user=$(id -un)
  as_user() { env HOME="$work/home" TMPDIR="$work/tmp" LD_LIBRARY_PATH="$work/bin" "$@"; }
fi

if [ -z "$build" ]; then
  build=${TMPDIR:-/tmp}/pgbackup-bench-storage-build
  say "building pgbackup (Release, no sanitizers) into $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPGB_SANITIZE=OFF -DPGB_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j"$(nproc)" --target pgbackup_cli >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pgbackup-bench-storage-XXXXXX")
cleanup() {
  as_user "$root/tests/support/test-servers" s3rver stop "$work/s3" >/dev/null 2>&1 || true
  as_user "$root/tests/support/test-servers" s3rver stop "$work/s3tls" >/dev/null 2>&1 || true
  as_user "$root/tests/support/test-servers" sshd stop "$work/ssh" >/dev/null 2>&1 || true
  as_user env PGB_TEST_PG_BINDIR="$bindir" "$work/pgfixture" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/bin" "$work/home" "$work/tmp" "$work/br"
cp "$build/examples/pgbackup" "$work/bin/pgbackup"
find "$build" -maxdepth 2 -name 'libpgbackup.so*' -exec cp -a {} "$work/bin/" \;
install -m 0755 "$root/tests/support/pgfixture" "$work/pgfixture"
chown -R "$server_user:" "$work"
chmod 0700 "$work"
pgbackup=$work/bin/pgbackup

say "starting PostgreSQL 15 and loading pgbench at scale $scale"
conninfo=$(as_user env PGB_TEST_PG_BINDIR="$bindir" "$work/pgfixture" start "$work/pg" "wal_level = replica" \
  "max_wal_senders = 10" "archive_mode = on" "archive_command = '/bin/true'" "max_wal_size = 2GB")
as_user "$bindir/pgbench" -i -q -s "$scale" "$conninfo" >"$work/tmp/pgbench.log" 2>&1
as_user "$bindir/psql" -X -q -d "$conninfo" -c CHECKPOINT
db_bytes=$(as_user "$bindir/psql" -X -At -d "$conninfo" -c "SELECT sum(pg_database_size(oid)) FROM pg_database")

say "starting s3rver (http and https) and sshd on loopback"
s3_port=$(as_user "$root/tests/support/test-servers" s3rver start "$work/s3")
s3tls_port=$(as_user "$root/tests/support/test-servers" s3rver start "$work/s3tls" tls)
ssh_port=$(as_user "$root/tests/support/test-servers" sshd start "$work/ssh")
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$work/credentials"
chown "$server_user:" "$work/credentials"

# best SECONDS of a command run $runs times, each after PREPARE.
best_of() {
  local prepare=$1 best=""
  shift
  for _ in $(seq 1 "$runs"); do
    eval "$prepare"
    local start end took
    start=$(date +%s.%N)
    "$@" >"$work/tmp/last.log" 2>&1 || { echo "FAILED: $*: $(tail -n 3 "$work/tmp/last.log")" >&2; echo 0; return; }
    end=$(date +%s.%N)
    took=$(echo "$end - $start" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$took < $best" | bc -l)" = 1 ]; then best=$took; fi
  done
  echo "$best"
}

declare -A seconds
n=0
fresh_repo() {
  n=$((n + 1))
  case $1 in
    posix) repo="$work/repo-$n" ;;
    s3) repo="s3://pgbackup-test/bench-$n" endpoint="http://127.0.0.1:$s3_port" ;;
    s3tls) repo="s3://pgbackup-test/bench-$n" endpoint="https://127.0.0.1:$s3tls_port" ;;
    sftp) repo="sftp://$server_user@127.0.0.1:$ssh_port$work/ssh/repo-$n" ;;
  esac
  as_user "$pgbackup" --repo "$repo" --s3-endpoint "$endpoint" --s3-ca-file "$work/s3tls/ca.pem" --s3-uri-style path \
    --s3-credentials-file "$work/credentials" --sftp-key "$work/ssh/client_key" \
    --sftp-known-hosts "$work/ssh/known_hosts" repo-init >/dev/null
}
run_pgbackup() {
  as_user "$pgbackup" --repo "$repo" --pg "$conninfo" --checkpoint fast --s3-endpoint "$endpoint" \
    --s3-ca-file "$work/s3tls/ca.pem" --s3-uri-style path --s3-credentials-file "$work/credentials" --sftp-key "$work/ssh/client_key" \
    --sftp-known-hosts "$work/ssh/known_hosts" backup --type physical
}
endpoint="http://127.0.0.1:$s3_port"
for target in posix s3 s3tls sftp; do
  say "pgbackup physical backup (stream mode, zstd:3) to $target"
  seconds[pgbackup-$target]=$(best_of "fresh_repo $target" run_pgbackup)
done

if command -v pgbackrest >/dev/null 2>&1; then
  brconf=$work/br/pgbackrest.conf
  # write_brconf posix|s3: a fresh repository each time.
  write_brconf() {
    n=$((n + 1))
    {
      echo "[global]"
      if [ "$1" = posix ]; then
        echo "repo1-path=$work/br/repo-$n"
      else
        printf 'repo1-type=s3\nrepo1-path=/br-%s\nrepo1-s3-bucket=pgbackup-test\nrepo1-s3-endpoint=127.0.0.1\n' "$n"
        printf 'repo1-storage-port=%s\nrepo1-s3-region=us-east-1\nrepo1-s3-key=S3RVER\n' "$s3tls_port"
        printf 'repo1-s3-key-secret=S3RVER\nrepo1-s3-uri-style=path\nrepo1-storage-verify-tls=n\n'
      fi
      printf 'repo1-retention-full=9\nprocess-max=1\ncompress-type=zst\ncompress-level=3\nstart-fast=y\n'
      printf 'archive-check=n\nlog-path=%s\nlock-path=%s\nlog-level-console=warn\n' "$work/br/log" "$work/br/lock"
      printf '[bench]\npg1-path=%s\npg1-port=%s\npg1-socket-path=%s\npg1-user=postgres\n' "$work/pg/data" \
        "$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$conninfo")" "$work/pg"
    } >"$brconf"
    chown "$server_user:" "$brconf"
    as_user pgbackrest --config="$brconf" --stanza=bench stanza-create >/dev/null 2>&1 || true
  }
  run_pgbackrest() { as_user pgbackrest --config="$brconf" --stanza=bench --type=full backup; }
  for target in posix s3; do
    say "pgBackRest full backup (zst:3, process-max 1) to $target"
    seconds[pgbackrest-$target]=$(best_of "write_brconf $target" run_pgbackrest)
  done
fi

mb=$(echo "$db_bytes / 1000000" | bc -l)
printf '\nphysical backup of %.0f MB (pgbench scale %s), fastest of %s runs; ratio = throughput / the same tool to posix\n' \
  "$mb" "$scale" "$runs"
printf '%-22s %10s %10s %8s\n' target seconds MB/s ratio
for key in pgbackup-posix pgbackup-s3 pgbackup-s3tls pgbackup-sftp pgbackrest-posix pgbackrest-s3; do
  s=${seconds[$key]:-}
  [ -n "$s" ] || continue
  tool=${key%%-*}
  base=${seconds[$tool-posix]:-0}
  if [ "$(echo "$s > 0" | bc -l)" = 1 ]; then
    ratio=$([ "$(echo "$base > 0" | bc -l)" = 1 ] && printf '%.2f' "$(echo "$base / $s" | bc -l)" || echo -)
    printf '%-22s %10.2f %10.1f %8s\n' "$key" "$s" "$(echo "$mb / $s" | bc -l)" "$ratio"
  else
    printf '%-22s %10s %10s %8s\n' "$key" failed - -
  fi
done
if [ -n "${seconds[pgbackup-s3tls]:-}" ] && [ -n "${seconds[pgbackrest-s3]:-}" ] &&
    [ "$(echo "${seconds[pgbackrest-s3]} > 0 && ${seconds[pgbackup-s3tls]} > 0" | bc -l)" = 1 ]; then
  printf '\npgbackup / pgBackRest to the same s3rver over TLS (throughput): %.2f\n' \
    "$(echo "${seconds[pgbackrest-s3]} / ${seconds[pgbackup-s3tls]}" | bc -l)"
fi
