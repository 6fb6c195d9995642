#!/usr/bin/env bash
# Retention against a real PostgreSQL 15 server, through the CLI.
#
# Four full backups with rows and archived WAL between them. keep-full 2
# must remove exactly the two oldest backups, the WAL before the third's
# start and the packs only they used; a dry run must list that and change
# nothing; afterwards every kept backup verifies and restores to points after
# the oldest kept backup still reach exactly their rows. A simulated clock
# (--as-of) moves a PITR window over the kept backups.
#
# Usage: test_expire.sh PGBACKUP PGFIXTURE
set -uo pipefail
pgbackup=$(realpath "$1")
fixture=$2
bindir=${PGB_TEST_PG_BINDIR:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/pgb-expire.XXXXXX)
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
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi; }
py() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

pgb() { "$pgbackup" --config "$work/pgbackup.conf" "$@"; }
sql() { "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$conninfo" "$@"; }
fingerprint_sql="SELECT count(*) || ':' || md5(string_agg(id || '/' || note, ',' ORDER BY id)) FROM t"
segments() { find "$work/repo" -path '*/wal/*' -type f -regextype posix-extended -regex '.*/[0-9A-F]{24}' -printf '%f\n' | sort; }
packs() { find "$work/repo" -path '*/packs/*' -type f | wc -l; }

restore_and_check() { # NAME EXPECTED RESTORE-OPTIONS...
  local name=$1 expected=$2 dir=$work/r-$1 port conn actual
  shift 2
  pgb restore --to "$dir" --target-action promote --archive-mode off "$@" >"$work/$name.out" 2>&1 ||
    { fail "$name: restore: $(cat "$work/$name.out")"; return; }
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  restored_dirs+=("$dir")
  "$bindir/pg_ctl" -D "$dir" -l "$dir.log" -w -t 120 \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work" start >/dev/null 2>&1 ||
    { fail "$name: start: $(tail -n 3 "$dir.log")"; return; }
  conn="host=127.0.0.1 port=$port user=postgres dbname=postgres"
  for _ in $(seq 1 120); do
    [ "$("$bindir/psql" -X -At -d "$conn" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && break
    sleep 0.5
  done
  actual=$("$bindir/psql" -X -At -d "$conn" -c "$fingerprint_sql" 2>&1)
  check "$name" "$expected" "$actual"
  "$bindir/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1
}

printf 'expire test passphrase\n' >"$work/pass"
chmod 600 "$work/pass"
printf '[global]\nrepo = %s\ncluster = main\npassphrase-file = %s\n' "$work/repo" "$work/pass" >"$work/pgbackup.conf"
pgb repo-init >/dev/null || { echo "FAIL repo-init"; exit 1; }
conninfo=$("$fixture" start "$work/src" "wal_level = replica" "archive_mode = on" \
  "archive_command = '$pgbackup --config $work/pgbackup.conf wal-push %p'")
[ -n "$conninfo" ] || { echo "FAIL the server did not start"; exit 1; }
sql -c "CREATE TABLE t (id serial PRIMARY KEY, note text NOT NULL)"

ids=()
for i in 1 2 3 4; do
  # Each backup holds rows no other one has, so its chunks land in packs of its own.
  sql -c "INSERT INTO t (note) SELECT md5(random()::text) FROM generate_series(1, 20000)" -c "SELECT pg_switch_wal()" >/dev/null
  pgb --pg "$conninfo" --checkpoint fast backup >"$work/backup$i.out" 2>&1 || { echo "FAIL backup $i"; exit 1; }
  ids+=("$(grep -oE '[0-9T.]+Z-full' "$work/backup$i.out" | head -n 1)")
  if [ "$i" -eq 3 ]; then
    sql -c "INSERT INTO t (note) SELECT md5(random()::text) FROM generate_series(1, 10)"
    at_target=$(sql -c "$fingerprint_sql")
    sleep 1.2
    target_time=$(sql -c "SET TIME ZONE 'UTC'" -c "SELECT to_char(clock_timestamp(), 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'")
    sleep 1.2
  fi
  sleep 1.1
done
sql -c "INSERT INTO t (note) SELECT md5(random()::text) FROM generate_series(1, 10)"
at_end=$(sql -c "$fingerprint_sql")
last=$(sql -c "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1 120); do
  archived=$(sql -c "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
  [[ "$archived" > "$last" || "$archived" == "$last" ]] && break
  sleep 0.5
done
segments_before=$(segments | wc -l)
packs_before=$(packs)

# Without a policy nothing goes.
out=$(pgb --json expire)
echo "$out" | py 'assert all(b["keep"] for b in d["backups"]) and d["wal"]["removed"] == 0 and d["packs"]["removed"] == 0' &&
  ok no_policy_removes_nothing || fail "no_policy_removes_nothing: $out"

# keep-full 2: the dry run names exactly the two oldest and changes nothing.
pgb policy --keep-full 2 >/dev/null
out=$(pgb --json expire --dry-run)
echo "$out" | py "gone = [b['id'] for b in d['backups'] if not b['keep']]; assert gone == ['${ids[0]}', '${ids[1]}'], gone; assert d['dry_run'] and d['wal']['removed'] > 0 and d['packs']['removed'] > 0" &&
  ok dry_run_lists_exactly_the_two_oldest || fail "dry_run_lists_exactly_the_two_oldest: $out"
check dry_run_changes_nothing "4 $segments_before $packs_before" "$(pgb --json list | py 'print(len(d))') $(segments | wc -l) $(packs)"

out=$(pgb --json expire)
echo "$out" | py "gone = [b['id'] for b in d['backups'] if not b['keep']]; assert gone == ['${ids[0]}', '${ids[1]}']" &&
  ok expire_removes_the_two_oldest || fail "expire_removes_the_two_oldest: $out"
check kept_backups_listed "${ids[2]} ${ids[3]}" "$(pgb --json list | py 'print(" ".join(b["id"] for b in d))')"
third_start=$(pgb --json list | py 'import sys; b=d[0]; print(b["wal"]["first"])')
first_left=$(segments | head -n 1)
[ -n "$first_left" ] && [[ "${first_left:8}" > "${third_start:8}" || "${first_left:8}" == "${third_start:8}" ]] &&
  ok wal_before_the_oldest_kept_backup_is_gone || fail "wal_before_the_oldest_kept_backup_is_gone: first left $first_left, third starts at $third_start"
[ "$(segments | wc -l)" -lt "$segments_before" ] && [ "$(packs)" -lt "$packs_before" ] &&
  ok segments_and_packs_removed || fail "segments_and_packs_removed: $(segments | wc -l)/$segments_before segments, $(packs)/$packs_before packs"
pgb verify --all >"$work/verify.out" 2>&1 && ok kept_backups_verify || fail "kept_backups_verify: $(cat "$work/verify.out")"

restore_and_check restore_to_a_time_after_the_oldest_kept "$at_target" --target-time "$target_time"
restore_and_check restore_to_the_end "$at_end"

out=$(pgb --json expire)
echo "$out" | py 'assert all(b["keep"] for b in d["backups"]) and d["wal"]["removed"] == 0 and d["packs"]["removed"] == 0' &&
  ok expire_again_removes_nothing || fail "expire_again_removes_nothing: $out"

# A PITR window on a simulated clock: half an hour after the newest backup, the window reaches back to the
# third, which is its base; a day later, only the newest is needed.
pgb policy --keep-full none --pitr-window 1h >/dev/null
stop4=$(pgb --json list | py 'print(d[-1]["stop_time"])')
soon=$(/usr/bin/python3 -c "import datetime,sys; t=datetime.datetime.fromisoformat('$stop4'); print((t+datetime.timedelta(minutes=30)).isoformat())")
later=$(/usr/bin/python3 -c "import datetime,sys; t=datetime.datetime.fromisoformat('$stop4'); print((t+datetime.timedelta(days=1)).isoformat())")
pgb --json expire --dry-run --as-of "$soon" | py 'assert all(b["keep"] for b in d["backups"])' &&
  ok window_keeps_its_base || fail "window_keeps_its_base"
pgb --json expire --dry-run --as-of "$later" | py "assert [b['id'] for b in d['backups'] if not b['keep']] == ['${ids[2]}']" &&
  ok window_moves_with_the_clock || fail "window_moves_with_the_clock"
pgb expire --as-of yesterday >/dev/null 2>&1
rc=$?
check bad_as_of_exits_2 2 "$rc"

echo "expire: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
