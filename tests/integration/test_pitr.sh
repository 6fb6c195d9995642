#!/usr/bin/env bash
# Point-in-time recovery against real PostgreSQL 15 servers, through the CLI.
#
# A source server archives with archive_command = 'pgbackup wal-push' into an
# encrypted repository; after a base backup it commits batches of rows, with a
# recorded time, a named restore point, an LSN and a transaction id between
# them, then deletes everything. Restores to each point, started and promoted,
# must hold exactly the rows of that moment (compared by an md5 of every row).
# Then: a segment taken out of the archive fails the plan before anything is
# written; a repository gone during recovery stops the server instead of
# promoting it early; and a restore promoted onto timeline 2 that writes more
# rows is followed by later restores (timeline latest) while points on
# timeline 1 are still reached.
#
# Usage: test_pitr.sh PGBACKUP PGFIXTURE
set -uo pipefail
pgbackup=$(realpath "$1")
fixture=$2
bindir=${PGB_TEST_PG_BINDIR:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/pgb-pitr.XXXXXX)
chmod 700 "$work"
passed=0 failed=0
restored_dirs=()

cleanup() {
  for dir in "${restored_dirs[@]}"; do
    [ -f "$dir/postmaster.pid" ] && "$bindir/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null 2>&1
  done
  "$fixture" stop "$work/src" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
# check NAME EXPECTED ACTUAL
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi; }

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

sql() { "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$conninfo" "$@"; }

# Every row, in order, as one md5: equal only when the rows are exactly the same.
fingerprint_sql="SELECT count(*) || ':' || coalesce(md5(string_agg(id || '/' || batch || '/' || note, ',' ORDER BY id)), '-') FROM t"

# start_restored DIR: start a server on a restored directory; prints its conninfo.
start_restored() {
  local dir=$1 port
  port=$(free_port)
  restored_dirs+=("$dir")
  if ! "$bindir/pg_ctl" -D "$dir" -l "$dir.log" -w -t 120 \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work" start >/dev/null 2>&1; then
    return 1
  fi
  echo "host=127.0.0.1 port=$port user=postgres dbname=postgres"
}

# wait_promoted CONNINFO: until the server has left recovery (60 s at most).
wait_promoted() {
  for _ in $(seq 1 120); do
    [ "$("$bindir/psql" -X -At -d "$1" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && return 0
    sleep 0.5
  done
  return 1
}

stop_restored() { "$bindir/pg_ctl" -D "$1" -m fast -w -t 60 stop >/dev/null 2>&1; }

# restore_and_check NAME EXPECTED [RESTORE OPTION ...]: restore, start, wait for promotion, compare the rows.
restore_and_check() {
  local name=$1 expected=$2 dir conn actual
  shift 2
  dir=$work/r-$name
  if ! "$pgbackup" --config "$work/pgbackup.conf" restore --to "$dir" --target-action promote "$@" \
      >"$work/$name.out" 2>&1; then
    fail "$name: restore failed: $(cat "$work/$name.out")"
    return
  fi
  if ! conn=$(start_restored "$dir") || ! wait_promoted "$conn"; then
    fail "$name: the restored server did not start and promote: $(tail -n 5 "$dir.log")"
    return
  fi
  actual=$("$bindir/psql" -X -At -d "$conn" -c "$fingerprint_sql" 2>&1)
  check "$name" "$expected" "$actual"
  stop_restored "$dir"
}

# wait_archived CONNINFO SEGMENT: until pg_stat_archiver has archived SEGMENT (or a later one).
wait_archived() {
  for _ in $(seq 1 120); do
    local last
    last=$("$bindir/psql" -X -At -d "$1" -c 'SELECT coalesce(last_archived_wal, $$$$) FROM pg_stat_archiver')
    [[ "$last" > "$2" || "$last" == "$2" ]] && return 0
    sleep 0.5
  done
  return 1
}

# The repository, and the settings every command (and restore_command) reads.
printf 'pitr test passphrase\n' >"$work/pass"
chmod 600 "$work/pass"
printf '[global]\nrepo = %s\ncluster = main\npassphrase-file = %s\n' "$work/repo" "$work/pass" >"$work/pgbackup.conf"
"$pgbackup" --config "$work/pgbackup.conf" repo-init >/dev/null || { echo "FAIL repo-init"; exit 1; }

conninfo=$("$fixture" start "$work/src" "wal_level = replica" "archive_mode = on" \
  "archive_command = '$pgbackup --config $work/pgbackup.conf wal-push %p'")
[ -n "$conninfo" ] || { echo "FAIL the source server did not start"; exit 1; }

utc_now() { sql -c "SET TIME ZONE 'UTC'" -c "SELECT to_char(clock_timestamp(), 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'"; }
# A batch of rows, then a segment switch so that the archive holds several segments to check.
batch() {
  sql -c "INSERT INTO t (batch, note) SELECT $1, md5(random()::text) FROM generate_series(1, 100)"
  sql -c "SELECT pg_switch_wal()" >/dev/null
}

sql -c "CREATE TABLE t (id serial PRIMARY KEY, batch int NOT NULL, note text NOT NULL)"
sql -c "INSERT INTO t (batch, note) SELECT 0, md5(random()::text) FROM generate_series(1, 10)"
at_backup=$(sql -c "$fingerprint_sql")
"$pgbackup" --config "$work/pgbackup.conf" --pg "$conninfo" --checkpoint fast backup >"$work/backup.out" 2>&1 ||
  { echo "FAIL backup: $(cat "$work/backup.out")"; exit 1; }

batch 1
at_time=$(sql -c "$fingerprint_sql")
sleep 1.2
target_time=$(utc_now)
sleep 1.2
batch 2
at_name=$(sql -c "$fingerprint_sql")
sql -c "SELECT pg_create_restore_point('before_batch_3')" >/dev/null
batch 3
at_lsn=$(sql -c "$fingerprint_sql")
target_lsn=$(sql -c "SELECT pg_current_wal_insert_lsn()")
target_xid=$(sql -c "BEGIN" -c "INSERT INTO t (batch, note) SELECT 4, md5(random()::text) FROM generate_series(1, 100)" \
  -c "SELECT txid_current()" -c "COMMIT")
at_xid=$(sql -c "$fingerprint_sql")
batch 5
sql -c "DELETE FROM t"
at_end=$(sql -c "$fingerprint_sql")
last_segment=$(sql -c "SELECT pg_walfile_name(pg_switch_wal())")
wait_archived "$conninfo" "$last_segment" || fail "the source did not archive $last_segment"
check the_delete_emptied_the_table "0:-" "$at_end"

# The plan, before anything is written.
out=$("$pgbackup" --config "$work/pgbackup.conf" restore --to "$work/r-plan" --target-name before_batch_3 --dry-run 2>&1)
if grep -q 'archive-recovery, target name before_batch_3' <<<"$out" && grep -qE '[1-9][0-9]* from the archive' <<<"$out" &&
   [ ! -e "$work/r-plan" ]; then ok dry_run_explains_the_plan; else fail "dry_run_explains_the_plan: $out"; fi
json=$("$pgbackup" --config "$work/pgbackup.conf" --json restore --to "$work/r-plan" --target-lsn "$target_lsn" --dry-run)
if /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); r=d["recovery"]; assert r["mode"]=="archive-recovery" and r["target"]["kind"]=="lsn" and r["archive_wal"]["segments"]>0 and d["estimated_seconds"]>0' <<<"$json"; then
  ok dry_run_json
else
  fail "dry_run_json: $json"
fi

# Restores to each moment hold exactly its rows.
restore_and_check immediate "$at_backup" --target immediate --archive-mode off
restore_and_check time "$at_time" --target-time "$target_time" --archive-mode off
restore_and_check name "$at_name" --target-name before_batch_3 --archive-mode off
restore_and_check lsn "$at_lsn" --target-lsn "$target_lsn" --archive-mode off
restore_and_check xid "$at_xid" --target-xid "$target_xid" --archive-mode off
restore_and_check latest "$at_end" --archive-mode off

# What a restore writes: recovery.signal, restore_command through a config file, no secret.
conf=$work/r-latest/postgresql.auto.conf
if grep -q "^restore_command = '.*--config .*pgbackup-restore.conf.* wal-fetch %f %p'" "$conf" &&
   grep -q "^archive_mode = 'off'" "$conf" && ! grep -rq 'pitr test passphrase' "$conf" "$work/r-latest/pgbackup-restore.conf"; then
  ok restore_command_reads_a_config_file_without_secrets
else
  fail "restore_command_reads_a_config_file_without_secrets: $(cat "$conf")"
fi

# A segment missing from the archive fails the plan, naming it, before anything is written.
wal_dir=$(dirname "$(find "$work/repo" -path '*/wal/00000001/*' -name "$last_segment" | head -n 1)")
missing=$(ls "$wal_dir" | grep -E '^[0-9A-F]{24}$' | sort | tail -n 3 | head -n 1)
mv "$wal_dir/$missing" "$work/aside"
out=$("$pgbackup" --config "$work/pgbackup.conf" restore --to "$work/r-missing" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && grep -q "WAL segment $missing is missing" <<<"$out" && [ ! -e "$work/r-missing" ]; then
  ok missing_segment_fails_the_plan
else
  fail "missing_segment_fails_the_plan: exit $rc: $out"
fi
mv "$work/aside" "$wal_dir/$missing"

# The repository gone during recovery to the latest point: the server stops instead of promoting early.
"$pgbackup" --config "$work/pgbackup.conf" restore --to "$work/r-down" --archive-mode off >/dev/null 2>&1 ||
  fail "restore for the unreachable repository test"
mv "$work/repo" "$work/repo.away"
if start_restored "$work/r-down" >/dev/null; then
  fail "recovery_stops_when_the_repository_is_unreachable: the server started"
  stop_restored "$work/r-down"
elif grep -q 'selected new timeline ID' "$work/r-down.log"; then
  fail "recovery_stops_when_the_repository_is_unreachable: it promoted: $(tail -n 5 "$work/r-down.log")"
else
  ok recovery_stops_when_the_repository_is_unreachable
fi
mv "$work/repo.away" "$work/repo"
if conn=$(start_restored "$work/r-down") && wait_promoted "$conn"; then
  check recovery_resumes_once_the_repository_is_back "$at_end" "$("$bindir/psql" -X -At -d "$conn" -c "$fingerprint_sql")"
  stop_restored "$work/r-down"
else
  fail "recovery_resumes_once_the_repository_is_back: $(tail -n 5 "$work/r-down.log")"
fi

# A restore promoted onto timeline 2, archiving into the same repository, writes more rows.
tl=$work/r-timeline2
"$pgbackup" --config "$work/pgbackup.conf" restore --to "$tl" --target-name before_batch_3 --target-action promote \
  >/dev/null 2>&1 || fail "restore onto a new timeline"
if tl_conn=$(start_restored "$tl") && wait_promoted "$tl_conn"; then
  check promoted_onto_timeline_2 2 "$("$bindir/psql" -X -At -d "$tl_conn" -c 'SELECT timeline_id FROM pg_control_checkpoint()' 2>/dev/null ||
    echo '?')"
  "$bindir/psql" -X -q -d "$tl_conn" -c "INSERT INTO t (batch, note) SELECT 9, md5(random()::text) FROM generate_series(1, 50)"
  at_timeline2=$("$bindir/psql" -X -At -d "$tl_conn" -c "$fingerprint_sql")
  segment=$("$bindir/psql" -X -At -d "$tl_conn" -c "SELECT pg_walfile_name(pg_switch_wal())")
  wait_archived "$tl_conn" "$segment" || fail "timeline 2 did not archive $segment"
  stop_restored "$tl"
  restore_and_check timeline_latest_follows_timeline_2 "$at_timeline2" --archive-mode off
  restore_and_check time_before_the_branch_still_reached "$at_time" --target-time "$target_time" --archive-mode off
  restore_and_check timeline_1_after_the_branch "$at_lsn" --target-lsn "$target_lsn" --target-timeline 1 --archive-mode off
  restore_and_check timeline_current_stays_on_timeline_1 "$at_end" --target-timeline current --archive-mode off
else
  fail "the restore onto timeline 2 did not start: $(tail -n 5 "$tl.log")"
fi

echo "pitr: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
