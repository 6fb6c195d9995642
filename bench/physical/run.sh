#!/usr/bin/env bash
# Physical-backup benchmark (not part of the tests): pgbackup against the
# reference tools on one throwaway PostgreSQL 15 cluster loaded by pgbench.
#   bench/physical/run.sh [BUILD_DIR]
#
# In one run, on the same cluster and the same warm page cache, it times
#   backup   pg_basebackup -Ft zstd:3 -X stream    vs  pgbackup --mode stream
#            (and the same with SHA-256 manifest checksums, as pgbackup asks the server for)
#            pgbackrest backup --type=full          vs  pgbackup --mode local --jobs 2
#   restore  pgbackrest restore                     vs  pgbackup restore
#   verify   pg_verifybackup on a plain copy        vs  pgbackup verify (repository)
#                                                       and pgbackup verify-dir (same copy)
# and prints seconds, MB/s (database size / seconds), peak RSS, stored size,
# and the ratio of our throughput to the reference's (> 1 means pgbackup is
# faster), beside the targets of the issue.
#
# Run as root on Debian 12: missing packages come from apt-get; pgbackup is
# built (Release, no sanitizers) into ${TMPDIR:-/tmp}/pgbackup-bench-physical-build
# unless BUILD_DIR, a CMake build of this tree, is given; every PostgreSQL step
# runs as the unprivileged user ${PGB_TEST_USER:-pgbtest}, made if missing.
# PGB_BENCH_SCALE sets the pgbench scale (default 50, about 750 MB).
# Every operation runs PGB_BENCH_RUNS times (default 3; each backup into a fresh
# folder or repository) and the fastest run counts.
# MB is 10^6 bytes, as the tools count; RSS is in MiB, as the target says.
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
for program in "$bindir/pg_basebackup" "$bindir/pg_verifybackup" "$bindir/pgbench" /usr/bin/time; do
  [ -x "$program" ] || { echo "run.sh: $program is missing; run as root to install it" >&2; exit 1; }
done
pgbackrest=$(command -v pgbackrest) || { echo "run.sh: pgbackrest is missing; run as root" >&2; exit 1; }

# ---- build ----
if [ -z "$build" ]; then
  build=${TMPDIR:-/tmp}/pgbackup-bench-physical-build
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
work=$(mktemp -d "${TMPDIR:-/tmp}/pgbackup-bench-physical-XXXXXX")
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

# A small, known environment: nothing of the caller's PGBACKUP_*, PG* or ~/.pgpass leaks in.
user_env=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$work/home" LC_ALL=C TMPDIR="$work/tmp"
  LD_LIBRARY_PATH="$work/bin")
if [ "$(id -u)" -eq 0 ]; then
  as_user() { runuser -u "$server_user" -- "${user_env[@]}" "$@"; }
else
  as_user() { "${user_env[@]}" "$@"; }
fi

mkdir -p "$work/bin" "$work/home" "$work/tmp" "$work/log" "$work/pgbackrest"
# Copies the server user can run even when the checkout or the build is private to root.
cp "$build/examples/pgbackup" "$work/bin/pgbackup"
find "$build" -maxdepth 2 -name 'libpgbackup.so*' -exec cp -a {} "$work/bin/" \;
install -m 0755 "$root/tests/support/pgfixture" "$work/pgfixture"
chown -R "$server_user:" "$work"
chmod 0700 "$work"
pgbackup=$work/bin/pgbackup
as_user "$pgbackup" --version >/dev/null || { echo "run.sh: $pgbackup does not run as $server_user" >&2; exit 1; }

# ---- the cluster ----
say "starting PostgreSQL $pg_major (data checksums, fsync on) as $server_user"
# WAL archiving is on from the start (archive_mode needs a restart), but only
# reaches pgBackRest once the load is done: its archive then holds what its
# backup needs, not the whole load.
conninfo=$(as_user env PGB_TEST_PG_BINDIR="$bindir" "$work/pgfixture" start "$pgdir" \
  "fsync = on" "wal_level = replica" "max_wal_senders = 10" \
  "archive_mode = on" "archive_command = '/bin/true'" "max_wal_size = 2GB")
port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$conninfo")
data=$pgdir/data
psql() { as_user "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgdir" -p "$port" -U postgres -d postgres "$@"; }

say "loading pgbench at scale $scale"
as_user "$bindir/pgbench" -i -q -s "$scale" -h "$pgdir" -p "$port" -U postgres postgres \
  >"$work/log/pgbench.log" 2>&1 || { tail -n 20 "$work/log/pgbench.log" >&2; exit 1; }
psql -c 'CHECKPOINT' >/dev/null

say "configuring pgBackRest (stanza bench)"
brconf=$work/pgbackrest/pgbackrest.conf
cat >"$brconf" <<EOF
[global]
repo1-path=$work/pgbackrest/repo
repo1-retention-full=2
process-max=2
compress-type=zst
compress-level=3
start-fast=y
log-path=$work/pgbackrest/log
lock-path=$work/pgbackrest/lock
spool-path=$work/pgbackrest/spool
log-level-console=warn
log-level-file=info

[bench]
pg1-path=$data
pg1-port=$port
pg1-socket-path=$pgdir
pg1-user=postgres
EOF
chown "$server_user:" "$brconf"
backrest() { as_user "$pgbackrest" --config="$brconf" --stanza=bench "$@"; }
backrest stanza-create >"$work/log/stanza-create.log" 2>&1 ||
  { cat "$work/log/stanza-create.log" >&2; exit 1; }
psql -c "ALTER SYSTEM SET archive_command = '$pgbackrest --config=$brconf --stanza=bench archive-push %p'" \
  -c 'SELECT pg_reload_conf()' >/dev/null

# What a base backup copies: the data directory without its WAL.
db_bytes=$(du -sb --exclude=pg_wal "$data" | cut -f1)
say "database: $((db_bytes / 1000000)) MB in $data"

# pgbackup's repositories: encrypted with a passphrase, as the issue says.
passphrase=$work/passphrase
head -c 32 /dev/urandom | base64 >"$passphrase"
chown "$server_user:" "$passphrase"
chmod 0600 "$passphrase"
tcp="host=127.0.0.1 port=$port user=postgres dbname=postgres"
ours() { # REPO ARG...: pgbackup on that repository
  local repo=$1
  shift
  as_user "$pgbackup" --repo "$repo" --passphrase-file "$passphrase" --pg "$tcp" --pg-bindir "$bindir" \
    --no-progress "$@"
}
new_repo() { # DIR: an empty encrypted repository there
  rm -rf "$1"
  ours "$1" repo-init >"$work/log/repo-init.log" 2>&1 || cat "$work/log/repo-init.log" >&2
}

# ---- measurements ----
calc() { awk "BEGIN { printf \"%s\", $1 }"; }
declare -A secs rss cpu machine state size
failures=()

# measure KEY WHAT CMD...: run CMD as the server user under /usr/bin/time (wall
# seconds, peak RSS of its largest process, CPU seconds of it and its children);
# state[KEY] says ok or failed. quiet_failure=1 keeps a failure's output to the log.
quiet_failure=0
# busy_ticks: CPU time the whole machine has spent busy so far (all CPUs), in clock ticks.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
measure() {
  local key=$1 what=$2 rc=0 s m u y before after
  shift 2
  say "$what"
  before=$(busy_ticks)
  as_user /usr/bin/time -f '%e %M %U %S' -o "$work/log/$key.time" "$@" \
    >"$work/log/$key.out" 2>"$work/log/$key.err" || rc=$?
  after=$(busy_ticks)
  if [ "$rc" -eq 0 ]; then
    read -r s m u y < <(tail -n 1 "$work/log/$key.time")
    secs[$key]=$s
    rss[$key]=$m
    cpu[$key]=$(calc "sprintf(\"%.2f\", $u + $y)")
    machine[$key]=$(calc "sprintf(\"%.2f\", ($after - $before) / $(getconf CLK_TCK))")
    state[$key]=ok
  else
    state[$key]=failed
    failures+=("$what (exit $rc)")
    if [ "$quiet_failure" -eq 0 ]; then
      echo "    failed with exit $rc; its last lines:" >&2
      cat "$work/log/$key.out" "$work/log/$key.err" | tail -n 15 | sed 's/^/    /' >&2
    fi
  fi
  return "$rc"
}
stored() { size[$1]=$(du -sb "$2" | cut -f1); }
fresh_dir() { as_user mkdir -m 0700 "$1"; }

# best_of KEY WHAT RESET CMD...: measure CMD $runs times, running RESET (a
# command, ":" for none) before each, and keep the fastest run (its seconds and
# CPU seconds) and the highest peak RSS of all runs under KEY.
best_of() {
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
      cpu[$key]=${cpu[$key.$i]}
      machine[$key]=${machine[$key.$i]}
    fi
    if [ "${rss[$key.$i]}" -gt "${rss[$key]:-0}" ]; then rss[$key]=${rss[$key.$i]}; fi
  done
  state[$key]=ok
}

# Backups: each run writes into a fresh folder or repository (made untimed), so
# every run does the same work; the output of the last run is what gets sized.
reset_basebackup() { rm -rf "$work/basebackup-tar"; }
reset_pgbackrest() {
  rm -rf "$work/pgbackrest/repo"
  backrest stanza-create >"$work/log/stanza-create.log" 2>&1 || cat "$work/log/stanza-create.log" >&2
}
reset_stream() { new_repo "$work/repo-stream"; }
reset_local() { new_repo "$work/repo-local"; }

if best_of basebackup "backup: pg_basebackup -Ft zstd:3 -X stream" reset_basebackup \
  "$bindir/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$work/basebackup-tar" -Ft \
  --compress=client-zstd:3 -X stream -c fast; then
  stored basebackup "$work/basebackup-tar"
fi
rm -rf "$work/basebackup-tar"

# Not a target, for reading the one above: pg_basebackup asking the server for
# SHA-256 manifest checksums as pgbackup does (the default is CRC-32C, cheaper
# for the server, which shares the machine's cores with the client).
if best_of basebackup_sha "backup: pg_basebackup -Ft zstd:3 -X stream, SHA-256 manifest" reset_basebackup \
  "$bindir/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$work/basebackup-tar" -Ft \
  --compress=client-zstd:3 -X stream -c fast --manifest-checksums=SHA256; then
  stored basebackup_sha "$work/basebackup-tar"
fi
rm -rf "$work/basebackup-tar"

if best_of pgbackrest "backup: pgbackrest backup --type=full" reset_pgbackrest \
  "$pgbackrest" --config="$brconf" --stanza=bench backup --type=full; then
  stored pgbackrest "$work/pgbackrest/repo"
fi

if best_of stream "backup: pgbackup --mode stream" reset_stream \
  "$pgbackup" --repo "$work/repo-stream" --passphrase-file "$passphrase" --pg "$tcp" --pg-bindir "$bindir" \
  --no-progress --jobs 2 backup --type physical --mode stream --checkpoint fast --compress zstd:3; then
  stored stream "$work/repo-stream"
fi

# Local mode may not be in this build yet: the CLI then refuses the mode (exit 2
# for a value it does not know, or "not available in this version").
quiet_failure=1
if best_of local "backup: pgbackup --mode local --jobs 2" reset_local \
  "$pgbackup" --repo "$work/repo-local" --passphrase-file "$passphrase" --pg "$tcp" --pg-bindir "$bindir" \
  --no-progress backup --type physical --mode local --jobs 2 --pgdata "$data" --checkpoint fast \
  --compress zstd:3; then
  stored local "$work/repo-local"
elif grep -qiE "not available in this version|local mode.*(not available|not supported|unsupported)|\
invalid value 'local' for mode|unknown option '--(mode|pgdata)'" "$work/log/local.1.err" 2>/dev/null; then
  state[local]=unavailable
  unset 'failures[-1]'
  echo "    local mode: not available in this build" >&2
else
  cat "$work"/log/local.*.out "$work"/log/local.*.err | tail -n 15 | sed 's/^/    /' >&2
fi
quiet_failure=0
rm -rf "$work/repo-local"

# Restores: pgBackRest's newest backup vs pgbackup's stream-mode backup, each
# into an empty folder, removed after each run. On a virtual machine the first
# write into memory the guest has never touched costs far more (here up to 1.5 s
# of system time per GB) than a write into pages freed a moment ago: a warm-up
# file of the database's size is written and removed first, so that every run
# writes into recycled pages.
as_user dd if=/dev/zero of="$work/warm-up" bs=1M count=$((db_bytes / 1048576 + 1)) status=none
rm -f "$work/warm-up"
reset_restore_pgbackrest() { rm -rf "$work/restore-pgbackrest" && fresh_dir "$work/restore-pgbackrest"; }
reset_restore_ours() { rm -rf "$work/restore-pgbackup"; }
if [ "${state[pgbackrest]}" = ok ]; then
  best_of restore_pgbackrest "restore: pgbackrest restore" reset_restore_pgbackrest \
    "$pgbackrest" --config="$brconf" --stanza=bench restore --pg1-path="$work/restore-pgbackrest" || true
  rm -rf "$work/restore-pgbackrest"
else
  state[restore_pgbackrest]=skipped
fi
restore_check="not run"
if [ "${state[stream]}" = ok ]; then
  if best_of restore_ours "restore: pgbackup restore --to DIR --jobs 2" reset_restore_ours \
    "$pgbackup" --repo "$work/repo-stream" --passphrase-file "$passphrase" --no-progress --jobs 2 \
    restore --to "$work/restore-pgbackup"; then
    # Not timed: PostgreSQL's own tool judges what our restore wrote against the server's manifest.
    if as_user "$bindir/pg_verifybackup" -q -n "$work/restore-pgbackup" >"$work/log/restore-check.log" 2>&1; then
      restore_check="pg_verifybackup -n accepts it"
    else
      restore_check="pg_verifybackup -n REJECTS it: $(head -n 3 "$work/log/restore-check.log" | tr '\n' ' ')"
    fi
  fi
  rm -rf "$work/restore-pgbackup"
else
  state[restore_ours]=skipped
fi

# Verification: one plain copy with SHA-256 in its manifest, checked by both tools.
measure plain "backup: pg_basebackup -Fp SHA256 manifest (copy for verify)" \
  "$bindir/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$work/plain" -Fp \
  --manifest-checksums=SHA256 -X stream -c fast || true
if [ "${state[plain]}" = ok ]; then
  best_of verify_pg "verify: pg_verifybackup (plain copy)" : "$bindir/pg_verifybackup" -q "$work/plain" || true
  best_of verify_dir "verify: pgbackup verify-dir (plain copy)" : \
    "$pgbackup" --no-progress verify-dir "$work/plain" || true
  best_of verify_dir2 "verify: pgbackup verify-dir --jobs 2 (plain copy)" : \
    "$pgbackup" --no-progress --jobs 2 verify-dir "$work/plain" || true
else
  state[verify_pg]=skipped state[verify_dir]=skipped state[verify_dir2]=skipped
fi
if [ "${state[stream]}" = ok ]; then
  best_of verify_repo "verify: pgbackup verify --jobs 2 (repository)" : \
    "$pgbackup" --repo "$work/repo-stream" --passphrase-file "$passphrase" --no-progress --jobs 2 verify || true
else
  state[verify_repo]=skipped
fi

# ---- the report ----
mbps() { calc "sprintf(\"%.1f\", $db_bytes / 1e6 / (${secs[$1]} > 0 ? ${secs[$1]} : 0.01))"; }
# ratio OURS REF: our throughput over the reference's, i.e. the reference's time over ours.
ratio() {
  if [ "${state[$1]:-}" = ok ] && [ "${state[$2]:-}" = ok ]; then
    calc "sprintf(\"%.2fx\", ${secs[$2]} / (${secs[$1]} > 0 ? ${secs[$1]} : 0.01))"
  else
    printf 'n/a'
  fi
}

row() { # KEY LABEL RATIO_TEXT
  local key=$1 label=$2 note=${3:-}
  case ${state[$key]:-skipped} in
  ok)
    printf '%-46s %8.2f %7s %9s %8s %9s %10s  %s\n' "$label" "${secs[$key]}" "${cpu[$key]}" "${machine[$key]}" \
      "$(mbps "$key")" \
      "$(calc "sprintf(\"%.1f\", ${rss[$key]} / 1024)")" \
      "$([ -n "${size[$key]:-}" ] && calc "sprintf(\"%.1f\", ${size[$key]} / 1e6)" || echo -)" "$note" ;;
  unavailable) printf '%-46s %s\n' "$label" "local mode: not available in this build" ;;
  failed) printf '%-46s %s\n' "$label" "FAILED (see the messages above)" ;;
  *) printf '%-46s %s\n' "$label" "skipped (what it needs failed)" ;;
  esac
}

target() { # LABEL MEASURED GOAL: "met" when MEASURED (a ratio like 1.23x) >= GOAL
  local measured=$2 verdict=n/a
  [ "$measured" != n/a ] && verdict=$(calc "(${measured%x} >= $3) ? \"met\" : \"NOT met\"")
  printf '  %-52s %10s  %s\n' "$1" "$measured" "$verdict"
}

max_rss=0 rss_verdict=n/a
for key in stream local restore_ours verify_repo verify_dir verify_dir2; do
  if [ "${state[$key]:-}" = ok ] && [ "${rss[$key]}" -gt "$max_rss" ]; then max_rss=${rss[$key]}; fi
done
if [ "$max_rss" -gt 0 ]; then
  rss_verdict=$(calc "($max_rss / 1024 < 64) ? \"met\" : \"NOT met\"")
fi

echo
echo "Physical backups: pgbackup $(as_user "$pgbackup" --version | awk '{print $2}') vs" \
  "PostgreSQL $("$bindir/pg_basebackup" --version | awk '{print $3}') tools and" \
  "$("$pgbackrest" version)"
echo "pgbench scale $scale, database $(calc "sprintf(\"%.1f\", $db_bytes / 1e6)") MB (data directory without" \
  "pg_wal), $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), warm page cache"
echo "load average when the script started $load_before, at the end $(cut -d' ' -f1-3 /proc/loadavg)" \
  "(anything else running on the machine skews the figures)"
echo "zstd level 3 everywhere; pgbackup repositories encrypted (passphrase), pgBackRest's not; ratio = our" \
  "throughput / the reference's (> 1: pgbackup faster)"
echo
printf '%-46s %8s %7s %9s %8s %9s %10s  %s\n' operation seconds "CPU s" "machine s" MB/s "RSS MiB" "stored MB" \
  "ratio (ours vs reference)"
row basebackup "backup  pg_basebackup -Ft zstd:3 -X stream"
row basebackup_sha "backup  pg_basebackup, SHA-256 manifest"
row pgbackrest "backup  pgbackrest --type=full (process-max 2)"
row stream "backup  pgbackup --mode stream --jobs 2" \
  "$(ratio stream basebackup) pg_basebackup ($(ratio stream basebackup_sha) with SHA-256), $(ratio stream pgbackrest) pgbackrest"
row local "backup  pgbackup --mode local --jobs 2" "$(ratio local pgbackrest) pgbackrest"
row restore_pgbackrest "restore pgbackrest restore"
row restore_ours "restore pgbackup restore --to DIR" "$(ratio restore_ours restore_pgbackrest) pgbackrest restore"
row plain "backup  pg_basebackup -Fp SHA256 (verify input)"
row verify_pg "verify  pg_verifybackup (plain copy)"
row verify_repo "verify  pgbackup verify (repository)" "$(ratio verify_repo verify_pg) pg_verifybackup"
row verify_dir "verify  pgbackup verify-dir (plain copy)" "$(ratio verify_dir verify_pg) pg_verifybackup"
row verify_dir2 "verify  pgbackup verify-dir --jobs 2" "$(ratio verify_dir2 verify_pg) pg_verifybackup"
echo
echo "targets of the issue                                                 measured  verdict"
if [ "${state[local]:-}" = unavailable ]; then
  printf '  %-52s %10s  %s\n' "local mode >= 1.3x pgBackRest's throughput" "-" \
    "local mode: not available in this build"
else
  target "local mode >= 1.3x pgBackRest's throughput" "$(ratio local pgbackrest)" 1.3
fi
target "stream mode >= 1.0x pg_basebackup's throughput" "$(ratio stream basebackup)" 1.0
target "verify (repository) >= 1.5x pg_verifybackup's" "$(ratio verify_repo verify_pg)" 1.5
target "verify-dir >= 1.5x pg_verifybackup's" "$(ratio verify_dir verify_pg)" 1.5
target "verify-dir --jobs 2 >= 1.5x pg_verifybackup's" "$(ratio verify_dir2 verify_pg)" 1.5
printf '  %-52s %10s  %s\n' "peak RSS < 64 MiB (largest pgbackup line)" \
  "$([ "$max_rss" -gt 0 ] && calc "sprintf(\"%.1f MiB\", $max_rss / 1024)" || echo n/a)" "$rss_verdict"
echo
echo "our restore, checked: $restore_check"
echo "seconds and CPU s: the fastest of $runs runs (PGB_BENCH_RUNS), each backup into a fresh folder" \
  "or repository; the copy for verify is made once"
echo "stored MB: du -sb of the repository or output folder; pgBackRest's includes its WAL archive"
echo "CPU s: user + system seconds of the tool and its children; peak RSS: its largest single process"
echo "(pgBackRest's workers are separate processes); the server's side (walsender) counts for neither"
echo "machine s: CPU seconds the whole machine was busy during the run, the server's side included (so is"
echo "anything else that ran): the work each way costs, against $(nproc) x seconds available"

if [ ${#failures[@]} -gt 0 ]; then
  echo
  echo "failed steps:"
  printf '  %s\n' "${failures[@]}"
  exit 1
fi
