#!/usr/bin/env bash
# The monitoring agent (examples/monitoring-agent) against a real PostgreSQL 15
# server: it serves metrics that a strict exposition parser accepts, runs a
# drill when the policy's cadence says one is due (and the metrics then show
# it), and stops cleanly on SIGTERM, leaving no scratch server or folder.
#
# Usage: test_agent.sh PGBACKUP PGBACKUP-AGENT PGFIXTURE
set -uo pipefail
pgbackup=$(realpath "$1")
agent=$(realpath "$2")
fixture=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d /tmp/pgb-agent.XXXXXX)
chmod 700 "$work"
passed=0 failed=0
agent_pid=

cleanup() {
  [ -n "$agent_pid" ] && kill -9 "$agent_pid" 2>/dev/null
  "$fixture" stop "$work/src" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
metrics() { /usr/bin/python3 -c "import urllib.request,sys; print(urllib.request.urlopen('http://127.0.0.1:$port/metrics', timeout=30).read().decode(), end='')"; }

mkdir -p "$work/scratch"
printf '[global]\nrepo = %s\ncluster = main\nscratch-dir = %s\n' "$work/repo" "$work/scratch" >"$work/pgbackup.conf"
"$pgbackup" --config "$work/pgbackup.conf" repo-init >/dev/null || { echo "FAIL repo-init"; exit 1; }
conninfo=$("$fixture" start "$work/src" "wal_level = replica" "archive_mode = off")
[ -n "$conninfo" ] || { echo "FAIL the server did not start"; exit 1; }
"$pgbackup" --config "$work/pgbackup.conf" --pg "$conninfo" --checkpoint fast backup >/dev/null 2>&1 || { echo "FAIL backup"; exit 1; }
"$pgbackup" --config "$work/pgbackup.conf" policy --drill-every 1h >/dev/null

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$agent" --config "$work/pgbackup.conf" --port "$port" --probe 'SELECT 1 => 1' 2>"$work/agent.log" &
agent_pid=$!

# No drill yet: one is due at once, and the metrics show it once it has run.
drilled=
for _ in $(seq 1 120); do
  if metrics 2>/dev/null | grep -q '^pgbackup_drills{cluster="main"} 1$'; then drilled=1; break; fi
  sleep 0.5
done
[ -n "$drilled" ] && ok agent_runs_a_due_drill || fail "agent_runs_a_due_drill: $(cat "$work/agent.log")"
metrics >"$work/metrics.txt"
grep -q '^pgbackup_drill_last_passed{cluster="main"} 1$' "$work/metrics.txt" && ok drill_passed_in_metrics ||
  fail "drill_passed_in_metrics: $(grep drill "$work/metrics.txt")"
/usr/bin/python3 "$here/../support/check_prometheus.py" "$work/metrics.txt" pgbackup_status_level pgbackup_drills \
  pgbackup_backups >/dev/null && ok metrics_parse || fail "metrics_parse: $(head -n 20 "$work/metrics.txt")"
# The next drill is an hour away: no second one.
sleep 3
grep -q '^pgbackup_drills{cluster="main"} 1$' <(metrics) && ok no_drill_before_it_is_due || fail no_drill_before_it_is_due
status=$(/usr/bin/python3 -c "import urllib.request,urllib.error
try: urllib.request.urlopen('http://127.0.0.1:$port/nothing', timeout=10)
except urllib.error.HTTPError as e: print(e.code)")
[ "$status" = 404 ] && ok unknown_path_is_404 || fail "unknown_path_is_404: $status"

kill -TERM "$agent_pid"
stopped=
for _ in $(seq 1 60); do
  if ! kill -0 "$agent_pid" 2>/dev/null; then stopped=1; break; fi
  sleep 0.5
done
wait "$agent_pid"
rc=$?
agent_pid=
[ -n "$stopped" ] && [ "$rc" -eq 0 ] && ok stops_on_sigterm || fail "stops_on_sigterm: exit $rc"
[ -z "$(ls -A "$work/scratch")" ] && ! pgrep -f "$work/scratch" >/dev/null && ok nothing_left || fail "nothing_left: $(ls -A "$work/scratch")"

echo "agent: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
