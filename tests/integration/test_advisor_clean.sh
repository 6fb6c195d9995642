#!/usr/bin/env bash
# The advisor finds nothing in a well set-up cluster: an encrypted repository
# off the database host (a real S3-compatible server, s3rver, on a loopback
# port), recovery goals and cadences, WAL archived by archive_command, physical,
# logical and globals backups, a passing drill, and a runbook generated after
# the last change. check exits 0 with no finding and status --format nagios
# is OK.
#
# Usage: test_advisor_clean.sh PGBACKUP PGFIXTURE TEST-SERVERS
set -uo pipefail
pgbackup=$(realpath "$1")
fixture=$2
servers=$3
work=$(mktemp -d /tmp/pgb-advisor.XXXXXX)
chmod 700 "$work"
passed=0 failed=0

cleanup() {
  "$fixture" stop "$work/src" >/dev/null 2>&1
  "$servers" s3rver stop "$work/server" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }

port=$("$servers" s3rver start "$work/server")
status=$?
if [ $status -eq 2 ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL s3rver is not installed (scripts/install-deps)"; exit 1; fi
  echo "SKIP s3rver is not installed (scripts/install-deps installs it)"
  exit 77
fi
[ $status -eq 0 ] || { echo "FAIL s3rver did not start"; exit 1; }

printf 'advisor test passphrase\n' >"$work/pass"
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$work/credentials"
chmod 600 "$work/pass" "$work/credentials"
mkdir -p "$work/scratch"
{
  printf '[global]\nrepo = s3://pgbackup-test/advisor/repo\ncluster = main\npassphrase-file = %s\n' "$work/pass"
  printf 's3-endpoint = http://127.0.0.1:%s\ns3-uri-style = path\ns3-credentials-file = %s\n' "$port" "$work/credentials"
  printf 'storage-timeout = 60\nscratch-dir = %s\n' "$work/scratch"
} >"$work/pgbackup.conf"
pgb() { "$pgbackup" --config "$work/pgbackup.conf" "$@"; }

pgb repo-init >/dev/null || { echo "FAIL repo-init"; exit 1; }
conninfo=$("$fixture" start "$work/src" "wal_level = replica" "archive_mode = on" \
  "archive_command = '$pgbackup --config $work/pgbackup.conf wal-push %p'")
[ -n "$conninfo" ] || { echo "FAIL the server did not start"; exit 1; }
pgb policy --rpo 1h --rto 1h --require full-cluster --require pitr --require selective --require globals \
  --keep-full 2 --pitr-window 7d --drill-every 7d --physical-every 1d --logical-every 1d --globals-every 7d >/dev/null
"${PGB_TEST_PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql" -X -q -d "$conninfo" \
  -c "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 500) g"
pgb --pg "$conninfo" --checkpoint fast backup --type physical >/dev/null 2>&1 || fail "physical backup"
pgb --pg "$conninfo" backup --type globals >/dev/null 2>&1 || fail "globals backup"
pgb --pg "$conninfo" backup --type logical >/dev/null 2>&1 || fail "logical backup"
"${PGB_TEST_PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql" -X -q -d "$conninfo" -c "SELECT pg_switch_wal()" >/dev/null
sleep 2
pgb drill --probe 'SELECT count(*) FROM t => 500' >"$work/drill.out" 2>&1 || fail "drill: $(cat "$work/drill.out")"
pgb runbook --output "$work/RUNBOOK.md" 2>/dev/null || fail "runbook"

findings=$(pgb --json check --pg "$conninfo")
rc=$?
if [ "$rc" -eq 0 ] && [ "$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$findings")" = 0 ]; then
  ok no_finding_in_a_well_set_up_cluster
else
  fail "no_finding_in_a_well_set_up_cluster: exit $rc: $findings"
fi
out=$(pgb status --format nagios --pg "$conninfo")
rc=$?
[ "$rc" -eq 0 ] && grep -q '^PGBACKUP OK - cluster main: goals met, no findings' <<<"$out" && ok nagios_ok ||
  fail "nagios_ok: exit $rc: $out"

echo "advisor: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
