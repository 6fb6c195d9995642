#!/usr/bin/env bash
# Restore drills against a real PostgreSQL 15 server, through the CLI.
#
# A source server archives into an encrypted repository and has a base backup
# and more rows after it. Drills must: pass with a passing probe and record a
# measured RTO judged against the policy's goal; fail when a probe expects a
# wrong value; report the point reached for a point-in-time target; push
# nothing into the WAL archive (no new timeline, no new file); and leave no
# server and no scratch folder behind, also when they fail.
#
# Usage: test_drill.sh PGBACKUP PGFIXTURE
set -uo pipefail
pgbackup=$(realpath "$1")
fixture=$2
bindir=${PGB_TEST_PG_BINDIR:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/pgb-drill.XXXXXX)
chmod 700 "$work"
passed=0 failed=0

cleanup() {
  "$fixture" stop "$work/src" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
# json_check NAME JSON PYTHON-EXPRESSION-ON-d
json_check() {
  if /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($3) else 1)" <<<"$2" 2>/dev/null; then
    ok "$1"
  else
    fail "$1: $2"
  fi
}

sql() { "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$conninfo" "$@"; }
drill() { "$pgbackup" --config "$work/pgbackup.conf" --scratch-dir "$work/scratch" --json drill "$@"; }

# Nothing of a drill survives it: no scratch folder, no server on one.
left_behind() {
  local what=""
  [ -n "$(ls -A "$work/scratch")" ] && what="scratch: $(ls -A "$work/scratch")"
  pgrep -f "$work/scratch" >/dev/null && what="$what server: $(pgrep -af "$work/scratch")"
  echo "$what"
}

archive_listing() { find "$work/repo" -path '*/wal/*' -type f | sort; }

printf 'drill test passphrase\n' >"$work/pass"
chmod 600 "$work/pass"
printf '[global]\nrepo = %s\ncluster = main\npassphrase-file = %s\n' "$work/repo" "$work/pass" >"$work/pgbackup.conf"
mkdir -p "$work/scratch"
"$pgbackup" --config "$work/pgbackup.conf" repo-init >/dev/null || { echo "FAIL repo-init"; exit 1; }
"$pgbackup" --config "$work/pgbackup.conf" policy --rto 1h >/dev/null || { echo "FAIL policy"; exit 1; }

conninfo=$("$fixture" start "$work/src" "wal_level = replica" "archive_mode = on" \
  "archive_command = '$pgbackup --config $work/pgbackup.conf wal-push %p'")
[ -n "$conninfo" ] || { echo "FAIL the source server did not start"; exit 1; }

sql -c "CREATE TABLE t (id serial PRIMARY KEY, note text NOT NULL)"
sql -c "INSERT INTO t (note) SELECT md5(g::text) FROM generate_series(1, 10) g"
"$pgbackup" --config "$work/pgbackup.conf" --pg "$conninfo" --checkpoint fast backup >"$work/backup.out" 2>&1 ||
  { echo "FAIL backup: $(cat "$work/backup.out")"; exit 1; }
sql -c "INSERT INTO t (note) SELECT md5(g::text) FROM generate_series(1, 100) g"
sql -c "SELECT pg_switch_wal()" >/dev/null
sleep 1.2
target_time=$(sql -c "SET TIME ZONE 'UTC'" -c "SELECT to_char(clock_timestamp(), 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'")
sleep 1.2
sql -c "INSERT INTO t (note) SELECT md5(g::text) FROM generate_series(1, 1000) g"
last=$(sql -c "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1 120); do
  archived=$(sql -c "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
  [[ "$archived" > "$last" || "$archived" == "$last" ]] && break
  sleep 0.5
done
before=$(archive_listing)

# A drill to the end of the archive with a passing probe passes and measures its RTO.
out=$(drill --probe 'SELECT count(*) FROM t => 1110' --probe 'SELECT max(id) FROM t')
rc=$?
[ "$rc" -eq 0 ] && ok drill_exit_0 || fail "drill_exit_0: exit $rc: $out"
json_check drill_passes_with_a_measured_rto "$out" \
  'd["passed"] and d["rto_seconds"] > 0 and d["rto_goal_seconds"] == 3600 and d["rto_met"] is True and all(p["passed"] for p in d["probes"]) and d["probes"][0]["got"] == "1110"'
json_check drill_checks_ran "$out" \
  'any(c["name"] == "connect postgres" and c["passed"] for c in d["checks"]) and any(c["name"].startswith("amcheck") and c["passed"] for c in d["checks"]) and any(c["name"] == "rows postgres.t" and c["detail"] == "1110 rows" for c in d["checks"])'
json_check drill_steps_all_ok "$out" \
  '[s["name"] for s in d["steps"]] == ["scratch", "plan", "restore", "start", "recovery", "probes", "checks", "cleanup"] and all(s["ok"] for s in d["steps"])'
what=$(left_behind)
[ -z "$what" ] && ok nothing_left_after_a_passing_drill || fail "nothing_left_after_a_passing_drill: $what"

# A probe expecting a wrong value fails the drill, and still nothing is left.
out=$(drill --probe 'SELECT count(*) FROM t => 999')
rc=$?
[ "$rc" -eq 1 ] && ok failing_probe_exits_1 || fail "failing_probe_exits_1: exit $rc: $out"
json_check failing_probe_fails_the_drill "$out" \
  'not d["passed"] and not d["probes"][0]["passed"] and d["probes"][0]["error"] == "expected 999, got 1110" and d["error"]'
what=$(left_behind)
[ -z "$what" ] && ok nothing_left_after_a_failing_drill || fail "nothing_left_after_a_failing_drill: $what"

# A drill to a point in time reports the point reached.
out=$(drill --target-time "$target_time" --probe 'SELECT count(*) FROM t => 110')
json_check pitr_drill_reaches_its_target "$out" \
  "d['passed'] and d['target']['kind'] == 'time' and d['reached']['lsn'] and d['reached']['time'] and d['reached']['time'] <= '$target_time'"
what=$(left_behind)
[ -z "$what" ] && ok nothing_left_after_a_pitr_drill || fail "nothing_left_after_a_pitr_drill: $what"

# The drills promoted their scratch servers, yet pushed nothing into the archive.
after=$(archive_listing)
[ "$before" = "$after" ] && ok drills_push_nothing_into_the_archive || fail "drills_push_nothing_into_the_archive: $(diff <(echo "$before") <(echo "$after"))"

# Drill reports are stored in the repository.
reports=$(find "$work/repo" -path '*/drills/*' -type f | wc -l)
[ "$reports" -eq 3 ] && ok reports_stored || fail "reports_stored: $reports reports"

# Bad usage: an unknown backup is a failed drill (nothing restored), a bad target is exit 2.
out=$(drill --backup 20000101T000000.000Z-full)
rc=$?
json_check unknown_backup_fails_at_plan "$out" '(not d["passed"]) and d["steps"][1]["name"] == "plan" and not d["steps"][1]["ok"]'
"$pgbackup" --config "$work/pgbackup.conf" drill --target-time tomorrow >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ] && ok bad_target_exits_2 || fail "bad_target_exits_2: exit $rc"

# A logical drill: globals and a logical backup restored into an empty scratch cluster, probed in the database.
sql -c "CREATE ROLE drill_owner LOGIN" -c "CREATE DATABASE shop OWNER drill_owner" >/dev/null
"$bindir/psql" -X -q -d "${conninfo/dbname=postgres/dbname=shop}" -c "SET ROLE drill_owner" \
  -c "CREATE TABLE items AS SELECT g AS id FROM generate_series(1, 321) g" >/dev/null
"$pgbackup" --config "$work/pgbackup.conf" --pg "$conninfo" backup --type globals >/dev/null 2>&1 || fail "globals backup"
"$pgbackup" --config "$work/pgbackup.conf" --pg "$conninfo" backup --type logical --db shop >/dev/null 2>&1 ||
  fail "logical backup"
out=$(drill --kind logical --probe 'SELECT count(*) FROM items => 321' \
  --probe "SELECT pg_catalog.pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'items' => drill_owner")
json_check logical_drill_passes "$out" \
  'd["passed"] and d["kind"] == "logical" and d["rto_seconds"] > 0 and all(p["passed"] for p in d["probes"]) and [r["type"] for r in d["restores"]] == ["globals", "logical"]'
json_check logical_drill_steps "$out" \
  '[s["name"] for s in d["steps"]] == ["scratch", "initdb", "start", "recovery", "restore", "probes", "checks", "cleanup"]'
out=$(drill --kind logical --probe 'SELECT count(*) FROM items => 1')
json_check logical_drill_wrong_probe_fails "$out" 'not d["passed"]'
what=$(left_behind)
[ -z "$what" ] && ok nothing_left_after_logical_drills || fail "nothing_left_after_logical_drills: $what"

echo "drill: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
