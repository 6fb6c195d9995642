#!/usr/bin/env bash
# Logical-backup benchmark (not part of the tests): pgbackup against PostgreSQL's
# own tools on one throwaway PostgreSQL 15 database loaded by pgbench.
#   bench/logical/run.sh [BUILD_DIR]
#
# In one run, on the same database and the same warm page cache, it times
#   backup   pg_dump -Fc -f FILE (a local file)   vs  pgbackup backup --type logical
#                                                     (zstd:3, encrypted, into the repository)
#   restore  pg_restore -j 2 -d DB FILE           vs  pgbackup restore --type logical --jobs 2
#            pg_restore -1 -d DB FILE             vs  pgbackup restore --type logical (streamed, 1 job)
# and, for information, the directory format (pg_dump -Fd -j 2 through a spool
# folder) backed up and restored with --jobs 2 against the same references,
# each restore into an empty database made (untimed) before every run, ANALYZE
# off as pg_restore does none; then, for information, pgbackup's whole restore
# with --create and ANALYZE, and a selective restore of one table. It prints
# seconds, peak RSS, stored sizes and the ratio of our time to the reference's
# (the issue's target: at most 1.05).
#
# Run as root on Debian 12: missing packages come from apt-get; pgbackup is
# built (Release, no sanitizers) into ${TMPDIR:-/tmp}/pgbackup-bench-logical-build
# unless BUILD_DIR, a CMake build of this tree, is given; every PostgreSQL step
# runs as the unprivileged user ${PGB_TEST_USER:-pgbtest}, made if missing.
# PGB_BENCH_SCALE sets the pgbench scale (default 50, about 750 MB in tables and
# indexes); every operation runs PGB_BENCH_RUNS times (default 3) and the
# fastest run counts. MB is 10^6 bytes; RSS is in MiB.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
server_user=${PGB_TEST_USER:-pgbtest}
scale=${PGB_BENCH_SCALE:-50}
runs=${PGB_BENCH_RUNS:-3}
pg_major=15
bindir=/usr/lib/postgresql/$pg_major/bin
build=${1:-}

for setting in "PGB_BENCH_SCALE=$scale" "PGB_BENCH_RUNS=$runs"; do
  case ${setting#*=} in '' | *[!0-9]* | 0)
    echo "run.sh: ${setting%%=*} must be a positive integer (got '${setting#*=}')" >&2
    exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*" >&2; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- packages and user ----
if [ "$(id -u)" -eq 0 ]; then
  "$root/scripts/install-deps"
  missing=()
  for p in "postgresql-$pg_major" "postgresql-client-$pg_major" time; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  id -u "$server_user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$server_user"
else
  server_user=$(id -un)
fi
for program in pg_dump pg_restore pgbench psql; do
  [ -x "$bindir/$program" ] || { echo "run.sh: $bindir/$program is missing; run as root" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time is missing; run as root" >&2; exit 1; }

# ---- build ----
if [ -z "$build" ]; then
  build=${TMPDIR:-/tmp}/pgbackup-bench-logical-build
  say "building pgbackup (Release, no sanitizers) into $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPGB_SANITIZE=OFF -DPGB_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j"$(nproc)" --target pgbackup_cli >/dev/null
fi
[ -x "$build/examples/pgbackup" ] || { echo "run.sh: no $build/examples/pgbackup" >&2; exit 1; }
if grep -q '^PGB_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "run.sh: warning: $build uses sanitizers; figures are not representative" >&2
fi

# ---- the work folder, private to the server user; removed on any exit ----
work=$(mktemp -d "${TMPDIR:-/tmp}/pgbackup-bench-logical-XXXXXX")
pgdir=$work/pg
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -f "$pgdir/data/postmaster.pid" ]; then
    as_user env PGB_TEST_PG_BINDIR="$bindir" "$work/pgfixture" stop "$pgdir" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

user_env=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$work/home" LC_ALL=C TMPDIR="$work/tmp"
  LD_LIBRARY_PATH="$work/bin")
if [ "$(id -u)" -eq 0 ]; then
  as_user() { runuser -u "$server_user" -- "${user_env[@]}" "$@"; }
else
  as_user() { "${user_env[@]}" "$@"; }
fi
mkdir -p "$work/bin" "$work/home" "$work/tmp" "$work/log"
cp "$build/examples/pgbackup" "$work/bin/pgbackup"
find "$build" -maxdepth 2 -name 'libpgbackup.so*' -exec cp -a {} "$work/bin/" \;
install -m 0755 "$root/tests/support/pgfixture" "$work/pgfixture"
chown -R "$server_user:" "$work"
chmod 0700 "$work"
pgbackup=$work/bin/pgbackup
as_user "$pgbackup" --version >/dev/null || { echo "run.sh: $pgbackup does not run as $server_user" >&2; exit 1; }

# ---- the database ----
say "starting PostgreSQL $pg_major (fsync on) as $server_user"
conninfo=$(as_user env PGB_TEST_PG_BINDIR="$bindir" "$work/pgfixture" start "$pgdir" \
  "fsync = on" "max_wal_size = 2GB" "maintenance_work_mem = 256MB")
port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$conninfo")
psql() { as_user "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgdir" -p "$port" -U postgres "$@"; }
psql -d postgres -c "CREATE DATABASE bench" >/dev/null
say "loading pgbench at scale $scale into database bench"
as_user "$bindir/pgbench" -i -q -s "$scale" -h "$pgdir" -p "$port" -U postgres bench \
  >"$work/log/pgbench.log" 2>&1 || { tail -n 20 "$work/log/pgbench.log" >&2; exit 1; }
psql -d bench -c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
db_bytes=$(psql -d bench -At -c "SELECT pg_database_size('bench')")
say "database bench: $((db_bytes / 1000000)) MB"

passphrase=$work/passphrase
head -c 32 /dev/urandom | base64 >"$passphrase"
chown "$server_user:" "$passphrase"
chmod 0600 "$passphrase"
tcp="host=127.0.0.1 port=$port user=postgres dbname=postgres"
ours() { as_user "$pgbackup" --repo "$work/repo" --passphrase-file "$passphrase" --pg "$tcp" --pg-bindir "$bindir" \
  --no-progress "$@"; }
new_repo() { rm -rf "$work/repo"; ours repo-init >"$work/log/repo-init.log" 2>&1 || cat "$work/log/repo-init.log" >&2; }

# ---- measurements ----
calc() { awk "BEGIN { printf \"%s\", $1 }"; }
declare -A secs rss state size
failures=()
measure() { # KEY WHAT CMD...
  local key=$1 what=$2 rc=0 s m
  shift 2
  say "$what"
  as_user /usr/bin/time -f '%e %M' -o "$work/log/$key.time" "$@" >"$work/log/$key.out" 2>"$work/log/$key.err" || rc=$?
  if [ "$rc" -eq 0 ]; then
    read -r s m < <(tail -n 1 "$work/log/$key.time")
    secs[$key]=$s
    rss[$key]=$m
  else
    failures+=("$what (exit $rc)")
    cat "$work/log/$key.out" "$work/log/$key.err" | tail -n 15 | sed 's/^/    /' >&2
  fi
  return "$rc"
}
best_of() { # KEY WHAT RESET CMD...: the fastest of $runs runs, RESET before each
  local key=$1 what=$2 reset=$3 i
  shift 3
  for ((i = 1; i <= runs; i++)); do
    $reset
    if ! measure "$key.$i" "$what (run $i of $runs)" "$@"; then
      state[$key]=failed
      return 1
    fi
    if [ "$i" -eq 1 ] || [ "$(calc "(${secs[$key.$i]} < ${secs[$key]}) ? 1 : 0")" = 1 ]; then
      secs[$key]=${secs[$key.$i]}
    fi
    if [ "${rss[$key.$i]}" -gt "${rss[$key]:-0}" ]; then rss[$key]=${rss[$key.$i]}; fi
  done
  state[$key]=ok
}
quiet="SET client_min_messages = warning"
empty_target() { psql -d postgres -c "$quiet" -c "DROP DATABASE IF EXISTS target" -c "CREATE DATABASE target" >/dev/null; }
no_target() { psql -d postgres -c "$quiet" -c "DROP DATABASE IF EXISTS target" >/dev/null; }
no_history() { psql -d target -c "$quiet" -c "DROP TABLE IF EXISTS pgbench_history" >/dev/null; }
reset_dump() { rm -f "$work/bench.dump"; }
reset_dir_repo() {
  rm -rf "$work/repo-dir"
  as_user "$pgbackup" --repo "$work/repo-dir" --passphrase-file "$passphrase" repo-init >/dev/null 2>&1
}

# Backups.
best_of pg_dump "backup: pg_dump -Fc -f FILE" reset_dump \
  "$bindir/pg_dump" -Fc -h 127.0.0.1 -p "$port" -U postgres -f "$work/bench.dump" bench || true
[ -f "$work/bench.dump" ] && size[pg_dump]=$(stat -c %s "$work/bench.dump")
if best_of backup "backup: pgbackup backup --type logical (zstd:3, encrypted)" new_repo \
  "$pgbackup" --repo "$work/repo" --passphrase-file "$passphrase" --pg "$tcp" --pg-bindir "$bindir" --no-progress \
  --compress zstd:3 backup --type logical --db bench; then
  size[backup]=$(du -sb "$work/repo" | cut -f1)
fi
best_of backup2 "backup: pgbackup backup --type logical --jobs 2 (zstd:3, encrypted)" new_repo \
  "$pgbackup" --repo "$work/repo" --passphrase-file "$passphrase" --pg "$tcp" --pg-bindir "$bindir" --no-progress \
  --compress zstd:3 --jobs 2 backup --type logical --db bench || true

best_of backup_dir "backup: pgbackup backup --type logical --format directory --jobs 2" reset_dir_repo \
  "$pgbackup" --repo "$work/repo-dir" --passphrase-file "$passphrase" --pg "$tcp" --pg-bindir "$bindir" \
  --no-progress --compress zstd:3 --jobs 2 backup --type logical --db bench --format directory || true

# Restores: the reference from pg_dump's own file; ours from the repository of the last backup run.
pg_target="host=127.0.0.1 port=$port user=postgres dbname=target"
best_of pg_restore_j2 "restore: pg_restore -j 2 from a local file" empty_target \
  "$bindir/pg_restore" -j 2 -d "$pg_target" "$work/bench.dump" || true
best_of restore_j2 "restore: pgbackup restore --type logical --jobs 2" empty_target \
  "$pgbackup" --repo "$work/repo" --passphrase-file "$passphrase" --pg "$tcp" --pg-bindir "$bindir" --no-progress \
  --jobs 2 restore --type logical --db bench --target-db target --no-analyze || true
if [ "${state[backup_dir]:-}" = ok ]; then
  best_of restore_dir "restore: pgbackup restore --jobs 2 of the directory-format backup" empty_target \
    "$pgbackup" --repo "$work/repo-dir" --passphrase-file "$passphrase" --pg "$tcp" --pg-bindir "$bindir" \
    --no-progress --jobs 2 restore --type logical --db bench --target-db target --no-analyze || true
fi
best_of pg_restore_1 "restore: pg_restore -1 from a local file" empty_target \
  "$bindir/pg_restore" -1 -d "$pg_target" "$work/bench.dump" || true
best_of restore_1 "restore: pgbackup restore --type logical (streamed, one transaction)" empty_target \
  "$pgbackup" --repo "$work/repo" --passphrase-file "$passphrase" --pg "$tcp" --pg-bindir "$bindir" --no-progress \
  restore --type logical --db bench --target-db target --no-analyze || true
best_of restore_create "restore: pgbackup restore --create --jobs 2, with ANALYZE" no_target \
  "$pgbackup" --repo "$work/repo" --passphrase-file "$passphrase" --pg "$tcp" --pg-bindir "$bindir" --no-progress \
  --jobs 2 restore --type logical --db bench --target-db target --create || true
check="not run"
if [ "${state[restore_create]:-}" = ok ]; then
  fingerprint="SELECT count(*) || ':' || sum(abalance) FROM pgbench_accounts"
  if [ "$(psql -d bench -At -c "$fingerprint")" = "$(psql -d target -At -c "$fingerprint")" ]; then
    check="pgbench_accounts identical (count and sum)"
  else
    check="pgbench_accounts DIFFERS"
  fi
  best_of selective "restore: pgbackup restore --table public.pgbench_history (selective)" no_history \
    "$pgbackup" --repo "$work/repo" --passphrase-file "$passphrase" --pg "$tcp" --pg-bindir "$bindir" \
    --no-progress restore --type logical --db bench --target-db target --table public.pgbench_history || true
fi

# ---- report ----
row() { # LABEL KEY
  if [ "${state[$2]:-}" = ok ]; then
    printf '%-62s %8.2f s %7d MiB\n' "$1" "${secs[$2]}" "$((${rss[$2]} / 1024))"
  else
    printf '%-62s %10s\n' "$1" "${state[$2]:-not run}"
  fi
}
ratio() { # LABEL OURS REFERENCE
  if [ "${state[$2]:-}" = ok ] && [ "${state[$3]:-}" = ok ]; then
    printf '%-62s %8.3f x  (target <= 1.05)\n' "$1" "$(calc "${secs[$2]} / ${secs[$3]}")"
  fi
}
echo
echo "logical benchmark: pgbench scale $scale, database $((db_bytes / 1000000)) MB, best of $runs runs"
echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
row "pg_dump -Fc -f FILE" pg_dump
row "pgbackup backup --type logical (zstd:3, encrypted)" backup
row "pgbackup backup --type logical --jobs 2" backup2
row "pgbackup backup --type logical --format directory --jobs 2" backup_dir
row "pg_restore -j 2 -d DB FILE" pg_restore_j2
row "pgbackup restore --type logical --jobs 2 (--no-analyze)" restore_j2
row "pgbackup restore --jobs 2 (directory format, --no-analyze)" restore_dir
row "pg_restore -1 -d DB FILE" pg_restore_1
row "pgbackup restore --type logical, streamed (--no-analyze)" restore_1
row "pgbackup restore --create --jobs 2, with ANALYZE" restore_create
row "pgbackup restore --table public.pgbench_history" selective
echo
ratio "backup: pgbackup / pg_dump -Fc" backup pg_dump
ratio "backup: pgbackup --jobs 2 / pg_dump -Fc" backup2 pg_dump
ratio "restore: pgbackup --jobs 2 / pg_restore -j 2" restore_j2 pg_restore_j2
ratio "restore: pgbackup streamed / pg_restore -1" restore_1 pg_restore_1
ratio "backup: pgbackup directory --jobs 2 / pg_dump -Fc" backup_dir pg_dump
ratio "restore: pgbackup directory --jobs 2 / pg_restore -j 2" restore_dir pg_restore_j2
echo
[ -n "${size[pg_dump]:-}" ] && printf '%-62s %10.1f MB\n' "pg_dump -Fc file (gzip)" "$(calc "${size[pg_dump]} / 1e6")"
[ -n "${size[backup]:-}" ] && printf '%-62s %10.1f MB\n' "pgbackup repository (zstd:3, encrypted)" "$(calc "${size[backup]} / 1e6")"
echo "restore check: $check"
if [ ${#failures[@]} -gt 0 ]; then
  printf 'failed: %s\n' "${failures[@]}"
  exit 1
fi
