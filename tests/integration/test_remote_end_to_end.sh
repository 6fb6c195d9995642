#!/usr/bin/env bash
# The whole strategy on an off-host repository, through the CLI: a real
# S3-compatible server (s3rver) or a real OpenSSH server (sshd), started by
# the test on a loopback port, and real PostgreSQL 15 servers.
#
# repo-init, archive_command = 'pgbackup wal-push %p', a physical and a
# logical backup, verify, a restore of the latest state and a point-in-time
# restore (both started and compared row by row), a drill, the layout of
# the stored keys (S3: as a standard client lists them). Then faults: the
# storage server stopped in the middle of a backup must fail the backup
# within the timeout and leave no backup visible, and a rerun after the
# server is back must succeed; an unknown access key (S3) or an unknown host
# key (SFTP) is a clear error.
#
# Usage: test_remote_end_to_end.sh s3|sftp PGBACKUP PGFIXTURE TEST-SERVERS
# Without the server's programs: exit 77 (skipped, said so) unless CI=true, where it fails.
set -uo pipefail
kind=$1
pgbackup=$(realpath "$2")
fixture=$3
servers=$4
bindir=${PGB_TEST_PG_BINDIR:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/pgb-remote-$kind.XXXXXX)
chmod 700 "$work"
passed=0 failed=0
restored_dirs=()
server_kind=$([ "$kind" = s3 ] && echo s3rver || echo sshd)

cleanup() {
  for dir in "${restored_dirs[@]}"; do
    [ -f "$dir/postmaster.pid" ] && "$bindir/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null 2>&1
  done
  "$fixture" stop "$work/src" >/dev/null 2>&1
  "$servers" "$server_kind" stop "$work/server" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi; }

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

port=$("$servers" "$server_kind" start "$work/server")
status=$?
if [ $status -eq 2 ]; then
  if [ "${CI:-}" = true ]; then
    echo "FAIL $server_kind is not installed (scripts/install-deps)"
    exit 1
  fi
  echo "SKIP $server_kind is not installed (scripts/install-deps installs it)"
  exit 77
fi
[ $status -eq 0 ] || { echo "FAIL $server_kind did not start"; exit 1; }

printf 'remote test passphrase\n' >"$work/pass"
chmod 600 "$work/pass"
if [ "$kind" = s3 ]; then
  # Credentials in a file the config names: archive_command and restore_command run without our environment.
  printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$work/credentials"
  chmod 600 "$work/credentials"
  repo="s3://pgbackup-test/e2e/repo"
  printf '[global]\nrepo = %s\ncluster = main\npassphrase-file = %s\ns3-endpoint = http://127.0.0.1:%s\n' \
    "$repo" "$work/pass" "$port" >"$work/pgbackup.conf"
  printf 's3-uri-style = path\ns3-credentials-file = %s\ns3-part-size = 5\nstorage-timeout = 20\n' \
    "$work/credentials" >>"$work/pgbackup.conf"
  stored_keys() {
    AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
      aws --endpoint-url "http://127.0.0.1:$port" s3 ls --recursive s3://pgbackup-test/e2e/repo/ |
      awk '{print $4}' | sed 's|^e2e/repo/||' | sort
  }
else
  repo="sftp://$(id -un)@127.0.0.1:$port$work/server/repo"
  printf '[global]\nrepo = %s\ncluster = main\npassphrase-file = %s\nsftp-key = %s\nsftp-known-hosts = %s\n' \
    "$repo" "$work/pass" "$work/server/client_key" "$work/server/known_hosts" >"$work/pgbackup.conf"
  printf 'storage-timeout = 20\n' >>"$work/pgbackup.conf"
  stored_keys() { (cd "$work/server/repo" && find . -type f ! -name '.*' | sed 's|^\./||' | sort); }
fi
pgb() { "$pgbackup" --config "$work/pgbackup.conf" "$@"; }

if pgb repo-init >"$work/init.out" 2>&1; then ok "repo-init on $repo"; else
  echo "FAIL repo-init: $(cat "$work/init.out")"; exit 1; fi

conninfo=$("$fixture" start "$work/src" "wal_level = replica" "archive_mode = on" \
  "archive_command = '$pgbackup --config $work/pgbackup.conf wal-push %p'")
[ -n "$conninfo" ] || { echo "FAIL the source server did not start"; exit 1; }
sql() { "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$conninfo" "$@"; }
fingerprint_sql="SELECT count(*) || ':' || coalesce(md5(string_agg(id || '/' || note, ',' ORDER BY id)), '-') FROM t"

wait_archived() {
  for _ in $(seq 1 120); do
    local last
    last=$("$bindir/psql" -X -At -d "$1" -c 'SELECT coalesce(last_archived_wal, $$$$) FROM pg_stat_archiver')
    [[ "$last" > "$2" || "$last" == "$2" ]] && return 0
    sleep 0.5
  done
  return 1
}

sql -c "CREATE TABLE t (id serial PRIMARY KEY, note text NOT NULL)"
sql -c "INSERT INTO t (note) SELECT md5(g::text) FROM generate_series(1, 20000) g"
if pgb --pg "$conninfo" --checkpoint fast backup --type physical >"$work/backup.out" 2>&1; then
  ok "physical backup to $kind"
else
  fail "physical backup: $(tail -n 5 "$work/backup.out")"
fi
if pgb --pg "$conninfo" backup --type logical >"$work/logical.out" 2>&1; then
  ok "logical backup to $kind"
else
  fail "logical backup: $(tail -n 5 "$work/logical.out")"
fi

sql -c "INSERT INTO t (note) SELECT md5(g::text) FROM generate_series(1, 500) g"
sql -c "SELECT pg_switch_wal()" >/dev/null
sleep 1.2
target_time=$(sql -c "SET TIME ZONE 'UTC'" -c "SELECT to_char(clock_timestamp(), 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'")
at_target=$(sql -c "$fingerprint_sql")
sleep 1.2
sql -c "INSERT INTO t (note) SELECT md5(g::text) FROM generate_series(1, 700) g"
at_end=$(sql -c "$fingerprint_sql")
last=$(sql -c "SELECT pg_walfile_name(pg_switch_wal())")
if wait_archived "$conninfo" "$last"; then ok "wal-push archived up to $last"; else
  fail "archiving stopped: $(sql -c 'SELECT last_failed_wal, failed_count FROM pg_stat_archiver')"; fi

count=$(pgb --json list | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)
check "list shows both backups" 2 "$count"
if pgb verify --all >"$work/verify.out" 2>&1; then
  ok "verify --all"
else
  fail "verify: $(tail -n 5 "$work/verify.out")"
fi

start_restored() {
  local dir=$1 p
  p=$(free_port)
  restored_dirs+=("$dir")
  "$bindir/pg_ctl" -D "$dir" -l "$dir.log" -w -t 120 \
    -o "-p $p -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work" start >/dev/null 2>&1 || return 1
  echo "host=127.0.0.1 port=$p user=postgres dbname=postgres"
}
wait_promoted() {
  for _ in $(seq 1 120); do
    [ "$("$bindir/psql" -X -At -d "$1" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && return 0
    sleep 0.5
  done
  return 1
}
restore_and_check() {
  local name=$1 expected=$2 dir conn
  shift 2
  dir=$work/r-$name
  if ! pgb restore --to "$dir" --target-action promote --archive-mode off "$@" >"$work/$name.out" 2>&1; then
    fail "$name: restore failed: $(tail -n 5 "$work/$name.out")"
    return
  fi
  if ! conn=$(start_restored "$dir") || ! wait_promoted "$conn"; then
    fail "$name: the restored server did not start and promote: $(tail -n 5 "$dir.log")"
    return
  fi
  check "$name" "$expected" "$("$bindir/psql" -X -At -d "$conn" -c "$fingerprint_sql" 2>&1)"
  "$bindir/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null 2>&1
}
physical=$(pgb --json list | /usr/bin/python3 -c \
  'import json,sys; print([b["id"] for b in json.load(sys.stdin) if b.get("type") == "physical"][-1])' 2>/dev/null)
restore_and_check "restore of the latest state from $kind (restore_command fetches WAL)" "$at_end" --backup "$physical"
restore_and_check "point-in-time restore from $kind" "$at_target" --backup "$physical" --target-time "$target_time"

mkdir -p "$work/scratch"
if pgb --scratch-dir "$work/scratch" --json drill --backup "$physical" --probe "SELECT count(*) FROM t => ${at_end%%:*}" \
    >"$work/drill.out" 2>"$work/drill.err"; then
  ok "drill from $kind"
else
  fail "drill: $(tail -n 3 "$work/drill.err") $(head -c 600 "$work/drill.out")"
fi

# The stored keys follow the repository layout (doc/repository-format.md).
keys=$(stored_keys)
for pattern in '^pgbackup\.repo$' '^keyring\.json$' '^clusters/[0-9a-f]{32}/backups/[0-9]' '^clusters/[0-9a-f]{32}/packs/[0-9a-f]{2}/[0-9a-f]{32}$' \
    '^clusters/[0-9a-f]{32}/wal/00000001/0000000100000000000000[0-9A-F]{2}$' '^clusters/[0-9a-f]{32}/content/.*/files$'; do
  if grep -Eq "$pattern" <<<"$keys"; then ok "stored keys include $pattern"; else fail "no key matches $pattern: $keys"; fi
done
if grep -Eqv '^(pgbackup\.repo|keyring\.json|clusters/[0-9a-f]{32}/.+)$' <<<"$keys"; then
  fail "keys outside the layout: $(grep -Ev '^(pgbackup\.repo|keyring\.json|clusters/[0-9a-f]{32}/.+)$' <<<"$keys")"
else
  ok "no key outside the layout"
fi

# Fault: the storage server stops in the middle of a backup.
sql -c "INSERT INTO t (note) SELECT repeat(md5(g::text), 20) FROM generate_series(1, 200000) g"
before=$(pgb --json list | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)
sed -i 's/^storage-timeout = .*/storage-timeout = 5/' "$work/pgbackup.conf"
packs_before=$(stored_keys | grep -c /packs/)
pgb --pg "$conninfo" --checkpoint fast --compress none backup --type physical >"$work/fault.out" 2>&1 &
backup_pid=$!
# Wait until the backup has stored a pack of its own (it is writing content), then stop the server under it.
for _ in $(seq 1 300); do
  [ "$(stored_keys 2>/dev/null | grep -c /packs/)" -gt "$packs_before" ] && break
  sleep 0.1
done
"$servers" "$server_kind" stop "$work/server"
started=$SECONDS
wait $backup_pid
backup_status=$?
took=$((SECONDS - started))
if [ $backup_status -ne 0 ] && [ $took -lt 90 ]; then
  ok "backup fails within the timeout when $server_kind stops ($took s): $(tail -n 1 "$work/fault.out")"
else
  fail "backup with $server_kind stopped: status $backup_status after $took s: $(tail -n 3 "$work/fault.out")"
fi
"$servers" "$server_kind" restart "$work/server" >/dev/null || fail "$server_kind did not restart"
sed -i 's/^storage-timeout = .*/storage-timeout = 20/' "$work/pgbackup.conf"
after=$(pgb --json list | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)
check "no partial backup is visible after the failure" "$before" "$after"
if pgb verify --all >"$work/verify2.out" 2>&1; then ok "the repository verifies after the failure"; else
  fail "verify after the failure: $(tail -n 5 "$work/verify2.out")"; fi
if pgb --pg "$conninfo" --checkpoint fast backup --type physical >"$work/rerun.out" 2>&1; then
  ok "a rerun after $server_kind is back succeeds"
else
  fail "rerun: $(tail -n 5 "$work/rerun.out")"
fi

# Fault: who the server does not know.
if [ "$kind" = s3 ]; then
  printf '[default]\naws_access_key_id = NOSUCHKEY\naws_secret_access_key = x\n' >"$work/bad-credentials"
  sed "s|s3-credentials-file = .*|s3-credentials-file = $work/bad-credentials|" "$work/pgbackup.conf" >"$work/bad.conf"
  out=$("$pgbackup" --config "$work/bad.conf" list 2>&1)
  code=$?
  if [ $code -ne 0 ] && grep -q InvalidAccessKeyId <<<"$out" && grep -q 'HTTP 403' <<<"$out" &&
      grep -q 's3://pgbackup-test/e2e/repo/' <<<"$out"; then
    ok "an unknown access key is a clear error: $out"
  else
    fail "unknown access key: exit $code: $out"
  fi
else
  : >"$work/empty_known_hosts"
  sed "s|sftp-known-hosts = .*|sftp-known-hosts = $work/empty_known_hosts|" "$work/pgbackup.conf" >"$work/bad.conf"
  out=$("$pgbackup" --config "$work/bad.conf" list 2>&1)
  code=$?
  if [ $code -ne 0 ] && grep -q 'is not in' <<<"$out" && grep -q 'SHA256:' <<<"$out"; then
    ok "an unknown host key is refused: $out"
  else
    fail "unknown host key: exit $code: $out"
  fi
fi

echo "remote $kind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
