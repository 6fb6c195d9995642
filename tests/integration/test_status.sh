#!/usr/bin/env bash
# Status and the advisor against real PostgreSQL 15 servers, through the CLI.
#
# Each classic mistake is set up and must be found (and, where the setup can
# be fixed here, must go away once fixed); status renders JSON, text, a
# Prometheus exposition that a strict parser (and promtool, when installed)
# accepts, and a Nagios line whose exit code is 2 when the newest backup is
# older than the RPO.
#
# Usage: test_status.sh PGBACKUP PGFIXTURE
set -uo pipefail
pgbackup=$(realpath "$1")
fixture=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bindir=${PGB_TEST_PG_BINDIR:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/pgb-status.XXXXXX)
chmod 700 "$work"
passed=0 failed=0
receiver=

cleanup() {
  [ -n "$receiver" ] && kill "$receiver" 2>/dev/null && wait "$receiver" 2>/dev/null
  "$fixture" stop "$work/src" >/dev/null 2>&1
  "$fixture" stop "$work/failing" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }

# findings CONF [OPTION ...]: the advisor's codes, "severity:code" one per line; "check-failed" when check
# gave no findings document, so that an absent finding is never taken from a broken check.
findings() {
  local conf=$1
  shift
  local document
  document=$("$pgbackup" --config "$conf" --json check "$@" 2>/dev/null) # exit 1 just means an error finding
  /usr/bin/python3 -c 'import json,sys; [print(f["severity"] + ":" + f["code"]) for f in json.load(sys.stdin)]' \
    <<<"$document" 2>/dev/null || echo "error:check-failed"
}
# expect_finding NAME CONF SEVERITY:CODE [OPTION ...]
expect_finding() {
  local name=$1 conf=$2 want=$3 got
  shift 3
  got=$(findings "$conf" "$@")
  if grep -qx "$want" <<<"$got"; then ok "$name"; else fail "$name: wanted $want in: $(tr '\n' ' ' <<<"$got")"; fi
}
expect_no_finding() {
  local name=$1 conf=$2 code=$3 got
  shift 3
  got=$(findings "$conf" "$@")
  if ! grep -q ":$code\$" <<<"$got" && ! grep -q ":check-failed\$" <<<"$got"; then ok "$name"
  else fail "$name: $code still found: $(tr '\n' ' ' <<<"$got")"; fi
}

# A plain repository with nothing in it.
printf '[global]\nrepo = %s\ncluster = main\n' "$work/plain" >"$work/plain.conf"
"$pgbackup" --config "$work/plain.conf" repo-init >/dev/null
"$pgbackup" --config "$work/plain.conf" check >/dev/null 2>&1
rc=$?
[ "$rc" -eq 1 ] && ok check_exits_1_with_errors || fail "check_exits_1_with_errors: exit $rc"
expect_finding no_backup "$work/plain.conf" "error:no-backup"
expect_finding no_encryption "$work/plain.conf" "warning:no-encryption"
expect_finding no_globals_backup "$work/plain.conf" "warning:no-globals-backup"
expect_finding no_runbook "$work/plain.conf" "warning:no-runbook"
"$pgbackup" --config "$work/plain.conf" policy --require pitr --require selective >/dev/null
expect_finding logical_only_when_pitr_required "$work/plain.conf" "error:logical-only-pitr-required"
expect_finding physical_only_when_selective_required "$work/plain.conf" "error:physical-only-selective-required"
expect_finding no_wal_archive_when_pitr_required "$work/plain.conf" "error:no-wal-archive"
"$pgbackup" --config "$work/plain.conf" policy --require globals >/dev/null
expect_finding globals_required_is_an_error "$work/plain.conf" "error:no-globals-backup"

# An encrypted repository and a server.
printf 'status test passphrase\n' >"$work/pass"
chmod 600 "$work/pass"
printf '[global]\nrepo = %s\ncluster = main\npassphrase-file = %s\n' "$work/repo" "$work/pass" >"$work/pgbackup.conf"
"$pgbackup" --config "$work/pgbackup.conf" repo-init >/dev/null
conninfo=$("$fixture" start "$work/src" "wal_level = replica" "archive_mode = off")
[ -n "$conninfo" ] || { echo "FAIL the server did not start"; exit 1; }
expect_no_finding encrypted_repository_is_fine "$work/pgbackup.conf" no-encryption
expect_finding archiving_off_found "$work/pgbackup.conf" "warning:archiving-off" --pg "$conninfo"

# A standby streaming from the server while the repository has no backup: a replica is no backup.
mkdir -p "$work/received"
"$bindir/pg_receivewal" -d "$conninfo" -D "$work/received" --no-loop >/dev/null 2>&1 &
receiver=$!
for _ in $(seq 1 40); do
  [ "$("$bindir/psql" -X -At -d "$conninfo" -c 'SELECT count(*) FROM pg_stat_replication')" = 1 ] && break
  sleep 0.25
done
expect_finding replica_as_backup "$work/pgbackup.conf" "error:replica-as-backup" --pg "$conninfo"
kill "$receiver" 2>/dev/null
wait "$receiver" 2>/dev/null
receiver=

# A backup older than the RPO: check finds it, status --format nagios exits 2.
"$pgbackup" --config "$work/pgbackup.conf" --pg "$conninfo" --checkpoint fast backup >/dev/null 2>&1 ||
  fail "backup for the RPO test"
"$pgbackup" --config "$work/pgbackup.conf" policy --rpo 1s >/dev/null
sleep 2
expect_finding rpo_not_met "$work/pgbackup.conf" "error:rpo-not-met"
out=$("$pgbackup" --config "$work/pgbackup.conf" status --format nagios)
rc=$?
if [ "$rc" -eq 2 ] && grep -q '^PGBACKUP CRITICAL - cluster main:.*rpo-not-met' <<<"$out" &&
   grep -qE '\| .*recovery_point_age=[0-9]+s;;1' <<<"$out"; then
  ok nagios_critical_when_backup_older_than_rpo
else
  fail "nagios_critical_when_backup_older_than_rpo: exit $rc: $out"
fi
"$pgbackup" --config "$work/pgbackup.conf" policy --rpo 1d >/dev/null
expect_no_finding rpo_met_with_a_larger_goal "$work/pgbackup.conf" rpo-not-met
expect_finding restores_never_tested "$work/pgbackup.conf" "warning:restores-never-tested"
expect_finding backups_on_the_database_host "$work/pgbackup.conf" "warning:backups-on-database-host" --pg "$conninfo"

# Drills: a failing one is an error, a passing one clears "never tested", an RTO over the goal is an error.
"$pgbackup" --config "$work/pgbackup.conf" --scratch-dir "$work" drill --probe 'SELECT 1 => 2' >/dev/null 2>&1
expect_finding drill_failed "$work/pgbackup.conf" "error:drill-failed"
"$pgbackup" --config "$work/pgbackup.conf" --scratch-dir "$work" drill --probe 'SELECT 1 => 1' >/dev/null 2>&1 ||
  fail "a passing drill"
expect_no_finding drill_passed_clears_never_tested "$work/pgbackup.conf" restores-never-tested
expect_no_finding drill_passed_clears_drill_failed "$work/pgbackup.conf" drill-failed
"$pgbackup" --config "$work/pgbackup.conf" policy --rto 0s --drill-every 1s --physical-every 1s >/dev/null
sleep 1.5
expect_finding rto_not_met "$work/pgbackup.conf" "error:rto-not-met"
expect_finding drill_overdue "$work/pgbackup.conf" "warning:drill-overdue"
expect_finding backup_overdue "$work/pgbackup.conf" "warning:backup-overdue"

# archive_command failing on another server.
failing=$("$fixture" start "$work/failing" "wal_level = replica" "archive_mode = on" "archive_command = 'false'")
"$bindir/psql" -X -q -d "$failing" -c "CREATE TABLE x AS SELECT 1 AS a" -c "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 1 60); do
  [ "$("$bindir/psql" -X -At -d "$failing" -c 'SELECT failed_count > 0 FROM pg_stat_archiver')" = t ] && break
  sleep 0.5
done
expect_finding archiving_failing "$work/pgbackup.conf" "error:archiving-failing" --pg "$failing"

# Formats: JSON, text, and a Prometheus exposition a strict parser accepts.
json=$("$pgbackup" --config "$work/pgbackup.conf" status --format json --pg "$conninfo")
if /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["format_version"]==1 and d["level"]=="critical" and d["backups"]["physical"]["count"]==1 and d["drills"]["count"]==2 and d["server"]["archive_mode"]=="off" and d["goals"]["rto_seconds"]==0' <<<"$json"; then
  ok status_json
else
  fail "status_json: $json"
fi
text=$("$pgbackup" --config "$work/pgbackup.conf" status)
grep -q '^cluster main: critical' <<<"$text" && grep -q 'physical  1 backups' <<<"$text" && ok status_text ||
  fail "status_text: $text"
"$pgbackup" --config "$work/pgbackup.conf" status --format prometheus --pg "$conninfo" >"$work/metrics.txt"
if /usr/bin/python3 "$here/../support/check_prometheus.py" "$work/metrics.txt" pgbackup_status_level \
    pgbackup_backup_age_seconds pgbackup_drill_last_rto_seconds pgbackup_findings; then
  ok prometheus_exposition_parses
else
  fail "prometheus_exposition_parses: $(head -20 "$work/metrics.txt")"
fi
# promtool comes from Debian's prometheus package (scripts/install-deps extracts it); CI must have it.
if command -v promtool >/dev/null; then
  if promtool check metrics <"$work/metrics.txt"; then ok promtool_check_metrics; else fail promtool_check_metrics; fi
elif [ "${CI:-}" = true ]; then
  fail "promtool_check_metrics: promtool is not installed"
fi
"$pgbackup" --config "$work/pgbackup.conf" status --format yaml >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ] && ok unknown_format_exits_2 || fail "unknown_format_exits_2: exit $rc"

# The runbook: real backup ids and drill history; generating it clears no-runbook, a policy change brings it back.
"$pgbackup" --config "$work/pgbackup.conf" runbook --output "$work/RUNBOOK.md" 2>/dev/null || fail "runbook"
backup_id=$("$pgbackup" --config "$work/pgbackup.conf" --json list | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
if grep -q "restore --to /srv/pg/restored --backup $backup_id" "$work/RUNBOOK.md" &&
   grep -q "pgbackup --config $work/pgbackup.conf restore" "$work/RUNBOOK.md" &&
   grep -qE '^\| `[0-9T.]+Z-drill` \| `'"$backup_id"'` \| yes \|' "$work/RUNBOOK.md" &&
   grep -q '^## Drill history' "$work/RUNBOOK.md"; then
  ok runbook_names_real_backups_and_drills
else
  fail "runbook_names_real_backups_and_drills: $(head -c 3000 "$work/RUNBOOK.md")"
fi
expect_no_finding runbook_generated "$work/pgbackup.conf" no-runbook
sleep 1.1
"$pgbackup" --config "$work/pgbackup.conf" policy --rto 1h >/dev/null
expect_finding runbook_outdated_after_a_policy_change "$work/pgbackup.conf" "warning:no-runbook"

echo "status: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
