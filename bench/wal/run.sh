#!/usr/bin/env bash
# WAL archiving benchmark (not part of the tests): pgbackup wal-push and
# wal-fetch against pgBackRest and a plain copy, on throwaway PostgreSQL 15
# clusters.
#   bench/wal/run.sh [BUILD_DIR]
#
# In one run it measures
#   archiving  segments per second through archive_command, one call per
#              segment in order as the archiver makes them, with a backlog of
#              ready segments (a busy server, or one catching up):
#                pgbackup wal-push                      (one segment per call)
#                pgbackup wal-push --jobs N             (push-ahead)
#                pgbackrest archive-push                (sync)
#                pgbackrest archive-push, archive-async (process-max N)
#                test ! -f DEST && cp + sync + mv       (the manual's example, made durable)
#   recovery   seconds from server start to the end of archive recovery of a
#              base backup (pgbackup backup) replaying PGB_BENCH_WAL_MB of WAL
#              through restore_command = pgbackup wal-fetch --prefetch 0,
#              then --prefetch PGB_BENCH_PREFETCH
# and prints the ratios in the same run (> 1: the first is faster).
#
# Run as root on Debian 12: missing packages come from apt-get; pgbackup is
# built (Release, no sanitizers) into ${TMPDIR:-/tmp}/pgbackup-bench-wal-build
# unless BUILD_DIR, a CMake build of this tree, is given; every PostgreSQL step
# runs as the unprivileged user ${PGB_TEST_USER:-pgbtest}, made if missing.
# Scale (environment):
#   PGB_BENCH_SEGMENTS  ready 16 MiB segments to archive (default 64, 1 GiB)
#   PGB_BENCH_JOBS      N of --jobs and pgBackRest's process-max (default 2)
#   PGB_BENCH_RUNS      runs of each archiving variant, the fastest counts (default 2)
#   PGB_BENCH_WAL_MB    WAL that recovery replays, in MiB (default 1024)
#   PGB_BENCH_PREFETCH  the --prefetch of the second recovery (default 8)
# Every repository is plain (no encryption) with zstd level 3, pgBackRest's too.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
server_user=${PGB_TEST_USER:-pgbtest}
segments=${PGB_BENCH_SEGMENTS:-64}
jobs=${PGB_BENCH_JOBS:-2}
runs=${PGB_BENCH_RUNS:-2}
wal_mb=${PGB_BENCH_WAL_MB:-1024}
prefetch=${PGB_BENCH_PREFETCH:-8}
pg_major=15
bindir=/usr/lib/postgresql/$pg_major/bin
build=${1:-}

for setting in "PGB_BENCH_SEGMENTS=$segments" "PGB_BENCH_JOBS=$jobs" "PGB_BENCH_RUNS=$runs" \
  "PGB_BENCH_WAL_MB=$wal_mb" "PGB_BENCH_PREFETCH=$prefetch"; do
  case ${setting#*=} in '' | *[!0-9]* | 0)
    echo "run.sh: ${setting%%=*} must be a positive integer (got '${setting#*=}')" >&2
    exit 2 ;;
  esac
done
[ "$jobs" -ge 2 ] || { echo "run.sh: PGB_BENCH_JOBS must be 2 or more (push-ahead needs it)" >&2; exit 2; }

say() { printf '==> %s\n' "$*" >&2; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- packages ----
if [ "$(id -u)" -eq 0 ]; then
  "$root/scripts/install-deps"
  missing=()
  for p in pgbackrest "postgresql-$pg_major" "postgresql-client-$pg_major" time; do
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
for program in "$bindir/pg_ctl" "$bindir/psql" /usr/bin/time; do
  [ -x "$program" ] || { echo "run.sh: $program is missing; run as root to install it" >&2; exit 1; }
done
pgbackrest=$(command -v pgbackrest) || { echo "run.sh: pgbackrest is missing; run as root" >&2; exit 1; }

# ---- build ----
if [ -z "$build" ]; then
  build=${TMPDIR:-/tmp}/pgbackup-bench-wal-build
  say "building pgbackup (Release, no sanitizers) into $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPGB_SANITIZE=OFF -DPGB_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j"$(nproc)" --target pgbackup_cli >/dev/null
fi
if [ ! -x "$build/examples/pgbackup" ]; then
  echo "run.sh: no $build/examples/pgbackup; build the pgbackup_cli target of $build first" >&2
  exit 1
fi
if grep -q '^PGB_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "run.sh: warning: $build uses sanitizers; figures are not representative" >&2
fi

# ---- the work folder, private to the server user; removed on any exit ----
work=$(mktemp -d "${TMPDIR:-/tmp}/pgbackup-bench-wal-XXXXXX")
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for data in "$work"/*/data "$work"/restore-*; do
    if [ -f "$data/postmaster.pid" ]; then
      as_user "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A small, known environment: nothing of the caller's PGBACKUP_*, PG* or ~/.pgpass leaks in.
user_env=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$work/home" LC_ALL=C TMPDIR="$work/tmp"
  LD_LIBRARY_PATH="$work/bin")
if [ "$(id -u)" -eq 0 ]; then
  as_user() { runuser -u "$server_user" -- "${user_env[@]}" "$@"; }
else
  as_user() { "${user_env[@]}" "$@"; }
fi

mkdir -p "$work/bin" "$work/home" "$work/tmp" "$work/log" "$work/pgbackrest"
cp "$build/examples/pgbackup" "$work/bin/pgbackup"
find "$build" -maxdepth 2 -name 'libpgbackup.so*' -exec cp -a {} "$work/bin/" \;
install -m 0755 "$root/tests/support/pgfixture" "$work/pgfixture"
chown -R "$server_user:" "$work"
chmod 0700 "$work"
pgbackup=$work/bin/pgbackup
as_user "$pgbackup" --version >/dev/null || { echo "run.sh: $pgbackup does not run as $server_user" >&2; exit 1; }

calc() { awk "BEGIN { printf \"%s\", $1 }"; }
fixture() { as_user env PGB_TEST_PG_BINDIR="$bindir" "$work/pgfixture" "$@"; }
psql_at() { # SOCKET_DIR PORT ARG...
  local dir=$1 port=$2
  shift 2
  as_user "$bindir/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres "$@"
}

# fill SOCKET_DIR PORT MIB: write about MIB MiB of WAL (inserts into a table "filler").
fill() {
  local dir=$1 port=$2 target=$(($3 * 1048576)) start now
  psql_at "$dir" "$port" -c "SET client_min_messages = warning" \
    -c "CREATE TABLE IF NOT EXISTS filler (id bigint, body text)" >/dev/null
  start=$(psql_at "$dir" "$port" -c "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
  now=$start
  while [ "$(calc "($now - $start < $target) ? 1 : 0")" = 1 ]; do
    psql_at "$dir" "$port" -c "INSERT INTO filler SELECT g, md5(g::text) || repeat(md5(random()::text), 6)
      FROM generate_series(1, 100000) g" >/dev/null
    now=$(psql_at "$dir" "$port" -c "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
  done
}

# ---- part 1: archiving a backlog of ready segments ----
# A cluster whose archiver has nothing to run (archive_mode on, archive_command
# empty) keeps every finished segment in pg_wal with its .ready file. Stopped,
# its pg_wal is the backlog a busy server hands to archive_command; pgBackRest's
# stanza points at it, so its async mode finds the same .ready files.
say "starting PostgreSQL $pg_major (fsync on) to make $segments ready WAL segments"
pgdir=$work/archiving
conninfo=$(fixture start "$pgdir" "fsync = on" "wal_level = replica" "archive_mode = on" "archive_command = ''" \
  "max_wal_size = 4GB")
port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$conninfo")
data=$pgdir/data

brconf=$work/pgbackrest/pgbackrest.conf
cat >"$brconf" <<EOF
[global]
repo1-path=$work/pgbackrest/repo
compress-type=zst
compress-level=3
process-max=$jobs
log-path=$work/pgbackrest/log
lock-path=$work/pgbackrest/lock
spool-path=$work/pgbackrest/spool
log-level-console=warn
log-level-file=off

[bench]
pg1-path=$data
pg1-port=$port
pg1-socket-path=$pgdir
pg1-user=postgres
EOF
chown "$server_user:" "$brconf"
as_user "$pgbackrest" --config="$brconf" --stanza=bench stanza-create >"$work/log/stanza-create.log" 2>&1 ||
  { cat "$work/log/stanza-create.log" >&2; exit 1; }

ready_count() { find "$data/pg_wal/archive_status" -name '????????????????????????.ready' | wc -l; }
while [ "$(ready_count)" -lt "$segments" ]; do
  fill "$pgdir" "$port" 256
done
as_user "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
# The first $segments ready segments are the backlog; any after them are set aside as archived.
mapfile -t backlog < <(find "$data/pg_wal/archive_status" -name '????????????????????????.ready' -printf '%f\n' |
  sort | sed 's/\.ready$//')
for name in "${backlog[@]:$segments}"; do
  mv "$data/pg_wal/archive_status/$name.ready" "$data/pg_wal/archive_status/$name.done"
done
backlog=("${backlog[@]:0:$segments}")
printf '%s\n' "${backlog[@]}" >"$work/backlog"
chown "$server_user:" "$work/backlog"
backlog_bytes=$((segments * 16 * 1048576))

# The archiver's part: for each segment in order, run the command as the server
# does (sh -c, in the data directory, %p relative to it), then mark it done.
cat >"$work/archiver.sh" <<'EOF'
#!/bin/bash
set -eu
data=$1 list=$2 template=$3
cd "$data"
while read -r name; do
  command=${template//%p/pg_wal\/$name}
  command=${command//%f/$name}
  sh -c "$command" || { echo "archive_command failed for $name: $command" >&2; exit 1; }
  mv "pg_wal/archive_status/$name.ready" "pg_wal/archive_status/$name.done"
done <"$list"
EOF
chmod 0755 "$work/archiver.sh"
chown "$server_user:" "$work/archiver.sh"

reset_backlog() { # every backlog segment ready again, no spool, empty archives
  local name
  while read -r name; do
    [ -f "$data/pg_wal/archive_status/$name.done" ] &&
      mv "$data/pg_wal/archive_status/$name.done" "$data/pg_wal/archive_status/$name.ready"
  done <"$work/backlog"
  rm -rf "$data/pg_wal/pgbackup.spool" "$work/repo-push" "$work/copy-archive" \
    "$work/pgbackrest/repo/archive/bench/15-1" "$work/pgbackrest/spool/archive"
  as_user "$pgbackup" --repo "$work/repo-push" repo-init >"$work/log/repo-init.log" 2>&1 ||
    { cat "$work/log/repo-init.log" >&2; exit 1; }
  as_user mkdir -m 0700 "$work/copy-archive"
  sync
}

declare -A secs state
failures=()
archive() { # KEY LABEL TEMPLATE: the fastest of $runs runs of the archiver over the backlog
  local key=$1 label=$2 template=$3 i s
  for ((i = 1; i <= runs; i++)); do
    reset_backlog
    say "archiving: $label (run $i of $runs)"
    if ! as_user /usr/bin/time -f '%e' -o "$work/log/$key.$i.time" "$work/archiver.sh" "$data" "$work/backlog" \
      "$template" >"$work/log/$key.$i.out" 2>&1; then
      state[$key]=failed
      failures+=("$label")
      tail -n 15 "$work/log/$key.$i.out" | sed 's/^/    /' >&2
      return 0
    fi
    s=$(tail -n 1 "$work/log/$key.$i.time")
    if [ "$i" -eq 1 ] || [ "$(calc "($s < ${secs[$key]}) ? 1 : 0")" = 1 ]; then secs[$key]=$s; fi
  done
  state[$key]=ok
}

archive push1 "pgbackup wal-push" "$pgbackup --repo $work/repo-push wal-push %p"
archive pushN "pgbackup wal-push --jobs $jobs" "$pgbackup --repo $work/repo-push --jobs $jobs wal-push %p"
# What push-ahead archived must fetch back byte for byte (untimed).
push_check="not run"
if [ "${state[pushN]:-}" = ok ]; then
  push_check="every segment fetched back byte-identical"
  while read -r name; do
    if ! as_user "$pgbackup" --repo "$work/repo-push" --prefetch 0 wal-fetch "$name" "$work/tmp/check" \
      >/dev/null 2>&1 || ! cmp -s "$data/pg_wal/$name" "$work/tmp/check"; then
      push_check="segment $name does NOT come back identical"
      break
    fi
  done <"$work/backlog"
fi
archive brsync "pgbackrest archive-push" "$pgbackrest --config=$brconf --stanza=bench archive-push %p"
archive brasync "pgbackrest archive-push --archive-async" \
  "$pgbackrest --config=$brconf --stanza=bench --archive-async archive-push %p"
archive copy "cp + sync + mv" \
  "test ! -f $work/copy-archive/%f && cp %p $work/copy-archive/%f.tmp && sync $work/copy-archive/%f.tmp && mv $work/copy-archive/%f.tmp $work/copy-archive/%f"
fixture stop "$pgdir" >/dev/null 2>&1 || true
rm -rf "$work/repo-push" "$work/copy-archive" "$work/pgbackrest"

# ---- part 2: recovery through wal-fetch ----
say "starting PostgreSQL $pg_major with archive_command = pgbackup wal-push --jobs $jobs"
rdir=$work/recovery
as_user "$pgbackup" --repo "$work/repo-wal" repo-init >"$work/log/repo-init.log" 2>&1 ||
  { cat "$work/log/repo-init.log" >&2; exit 1; }
conninfo=$(fixture start "$rdir" "fsync = on" "wal_level = replica" "max_wal_senders = 4" "archive_mode = on" \
  "archive_command = '$pgbackup --repo $work/repo-wal --jobs $jobs wal-push %p'" "max_wal_size = 4GB")
rport=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$conninfo")
say "base backup (pgbackup backup --type physical)"
as_user "$pgbackup" --repo "$work/repo-wal" --pg "host=127.0.0.1 port=$rport user=postgres dbname=postgres" \
  --pg-bindir "$bindir" --no-progress backup --type physical --checkpoint fast >"$work/log/backup.log" 2>&1 ||
  { tail -n 15 "$work/log/backup.log" >&2; exit 1; }
say "writing $wal_mb MiB of WAL"
start_lsn=$(psql_at "$rdir" "$rport" -c "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
fill "$rdir" "$rport" "$wal_mb"
end_lsn=$(psql_at "$rdir" "$rport" -c "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
last=$(psql_at "$rdir" "$rport" -c "SELECT pg_walfile_name(pg_switch_wal())")
expected=$(psql_at "$rdir" "$rport" -c "SELECT count(*) || ' ' || max(id) FROM filler")
for ((i = 0; i < 3000; i++)); do
  archived=$(psql_at "$rdir" "$rport" -c "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
  [[ "$archived" < "$last" ]] || break
  sleep 0.2
done
failed_archiving=$(psql_at "$rdir" "$rport" -c "SELECT failed_count FROM pg_stat_archiver")
as_user "$bindir/pg_ctl" -D "$rdir/data" -m fast -w stop >/dev/null
replayed_mb=$(calc "sprintf(\"%.0f\", ($end_lsn - $start_lsn) / 1048576)")

# recover KEY PREFETCH: restore the backup (untimed), then time its archive recovery.
recover() {
  local key=$1 count=$2 target=$work/restore-$1 t0 t1 got=""
  say "recovery with wal-fetch --prefetch $count: restoring the backup"
  as_user "$pgbackup" --repo "$work/repo-wal" --no-progress restore --to "$target" >"$work/log/restore-$key.log" 2>&1 ||
    { tail -n 15 "$work/log/restore-$key.log" >&2; state[$key]=failed; failures+=("restore for $key"); return 0; }
  as_user touch "$target/recovery.signal"
  as_user sh -c "cat >>'$target/postgresql.auto.conf'" <<EOF
port = $rport
listen_addresses = ''
unix_socket_directories = '$work/tmp'
archive_mode = off
restore_command = '$pgbackup --repo $work/repo-wal --log-level warning wal-fetch --prefetch $count %f %p'
EOF
  sync
  say "recovery with wal-fetch --prefetch $count: replaying"
  t0=$(date +%s.%N)
  as_user "$bindir/pg_ctl" -D "$target" -l "$work/log/recovery-$key.log" start >/dev/null
  for ((i = 0; i < 36000; i++)); do
    if [ "$(psql_at "$work/tmp" "$rport" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; then break; fi
    sleep 0.05
  done
  t1=$(date +%s.%N)
  got=$(psql_at "$work/tmp" "$rport" -c "SELECT count(*) || ' ' || max(id) FROM filler" 2>/dev/null || true)
  as_user "$bindir/pg_ctl" -D "$target" -m fast -w stop >/dev/null 2>&1 || true
  if [ "$got" = "$expected" ]; then
    secs[$key]=$(calc "sprintf(\"%.2f\", $t1 - $t0)")
    state[$key]=ok
  else
    state[$key]=failed
    failures+=("recovery with --prefetch $count (rows: '$got', expected '$expected')")
    tail -n 15 "$work/log/recovery-$key.log" | sed 's/^/    /' >&2
  fi
  rm -rf "$target"
}
recover fetch0 0
recover fetchK "$prefetch"

# ---- the report ----
rate() { calc "sprintf(\"%.1f\", $segments / (${secs[$1]} > 0 ? ${secs[$1]} : 0.01))"; }
mbps() { calc "sprintf(\"%.0f\", $backlog_bytes / 1e6 / (${secs[$1]} > 0 ? ${secs[$1]} : 0.01))"; }
ratio() { # A B: B's time over A's (> 1: A faster)
  if [ "${state[$1]:-}" = ok ] && [ "${state[$2]:-}" = ok ]; then
    calc "sprintf(\"%.2fx\", ${secs[$2]} / (${secs[$1]} > 0 ? ${secs[$1]} : 0.01))"
  else
    printf 'n/a'
  fi
}
row() { # KEY LABEL NOTE
  if [ "${state[$1]:-}" = ok ]; then
    printf '  %-56s %8.2f %9s %7s  %s\n' "$2" "${secs[$1]}" "$(rate "$1")" "$(mbps "$1")" "${3:-}"
  else
    printf '  %-56s %s\n' "$2" "FAILED (see the messages above)"
  fi
}

echo
echo "WAL archiving: pgbackup $(as_user "$pgbackup" --version | awk '{print $2}') vs $("$pgbackrest" version)" \
  "and cp + sync, PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}')"
echo "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); load average at the" \
  "start $load_before, at the end $(cut -d' ' -f1-3 /proc/loadavg) (anything else running skews the figures)"
echo "zstd level 3, plain repositories, all on the local disk; ratio = the other's time / ours (> 1: pgbackup faster)"
echo
echo "archiving a backlog of $segments ready 16 MiB segments, one archive_command call per segment, in order" \
  "(fastest of $runs runs)"
printf '  %-56s %8s %9s %7s  %s\n' variant seconds "segments/s" "MB/s" ratio
row push1 "pgbackup wal-push" "$(ratio push1 brsync) pgbackrest sync, $(ratio push1 copy) cp+sync"
row pushN "pgbackup wal-push --jobs $jobs (push-ahead)" \
  "$(ratio pushN brasync) pgbackrest async, $(ratio pushN push1) wal-push alone, $(ratio pushN copy) cp+sync"
row brsync "pgbackrest archive-push"
row brasync "pgbackrest archive-push --archive-async (process-max $jobs)"
row copy "cp + sync + mv"
echo "  push-ahead's archive checked: $push_check"
echo
echo "recovery of a base backup replaying $replayed_mb MiB of WAL (archived by wal-push --jobs $jobs," \
  "$failed_archiving failed attempts), from pg_ctl start to the end of recovery"
printf '  %-56s %8s  %s\n' restore_command seconds ratio
for key in fetch0 fetchK; do
  count=$([ "$key" = fetch0 ] && echo 0 || echo "$prefetch")
  if [ "${state[$key]:-}" = ok ]; then
    printf '  %-56s %8.2f  %s\n' "pgbackup wal-fetch --prefetch $count" "${secs[$key]}" \
      "$([ "$key" = fetchK ] && echo "$(ratio fetchK fetch0) --prefetch 0")"
  else
    printf '  %-56s %s\n' "pgbackup wal-fetch --prefetch $count" "FAILED (see the messages above)"
  fi
done
echo "  each recovered copy holds the source's rows ($expected): checked before it counts"

if [ ${#failures[@]} -gt 0 ]; then
  echo
  echo "failed steps:"
  printf '  %s\n' "${failures[@]}"
  exit 1
fi
