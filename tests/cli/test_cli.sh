#!/usr/bin/env bash
# The pgbackup command line's contract (../shared/CLI.md): exit codes, messages,
# option sources and the probe of a real server.
#   test_cli.sh PGBACKUP PGFIXTURE
set -u
pgbackup=$1 fixture=$2
passed=0 failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/pgb-cli-XXXXXX")
cleanup() { "$fixture" stop "$work/pg" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
unset $(env | grep -o '^PGBACKUP_[A-Z_]*' | grep -v '^PGBACKUP_LIBRARY$') 2>/dev/null || true

# expect NAME CODE PATTERN -- COMMAND...: exit code CODE and output (stdout+stderr) matching PATTERN
expect() {
  local name=$1 code=$2 pattern=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$code" ] && grep -qE -- "$pattern" <<<"$out"; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name: exit $rc (wanted $code), output:"; sed 's/^/     /' <<<"$out"
  fi
}

expect version 0 '^pgbackup [0-9]+\.[0-9]+\.[0-9]+$' -- "$pgbackup" --version
expect help 0 'probe .*connect to PostgreSQL' -- "$pgbackup" --help
expect help_lists_registry_options 0 '--compress ALGO\[:LEVEL\].*default zstd:3' -- "$pgbackup" --help
expect no_command 2 'no command given' -- "$pgbackup"
expect unknown_command 2 "unknown command 'bakup'" -- "$pgbackup" bakup
expect unknown_option_suggests 2 "unknown option '--compres'; did you mean '--compress'" -- "$pgbackup" --compres=zstd probe
expect unknown_short_option 2 "unknown option '-x'" -- "$pgbackup" -x probe
expect bad_value 2 "invalid value 'lots' for jobs: expected a whole number" -- "$pgbackup" --jobs lots probe
expect missing_value 2 "option '--repo' needs a value" -- "$pgbackup" probe --repo
expect bad_env_value 2 'environment variable PGBACKUP_LOG_LEVEL: invalid value' -- env PGBACKUP_LOG_LEVEL=loud "$pgbackup" probe
expect unknown_env_option 2 "PGBACKUP_JOB: unknown option 'JOB'; did you mean 'jobs'" -- env PGBACKUP_JOB=2 "$pgbackup" probe
printf 'jobs = 4\ncompres = lz4\n' >"$work/bad.conf"
expect bad_config_names_line 2 "bad.conf:2: unknown option 'compres'" -- "$pgbackup" --config "$work/bad.conf" probe
expect missing_config 1 "cannot open configuration file $work/nope.conf" -- "$pgbackup" --config "$work/nope.conf" probe
expect probe_takes_no_arguments 2 "probe takes no arguments" -- "$pgbackup" probe extra
expect probe_refused_connection 1 'cannot connect to PostgreSQL \(host=127.0.0.1 port=1\)' -- "$pgbackup" --pg "host=127.0.0.1 port=1 connect_timeout=5" probe

# Repositories and keys.
repo=$work/repo
expect repo_init_needs_repo 2 'repo-init needs --repo' -- "$pgbackup" repo-init
expect repo_init 0 "repository [0-9a-f]{32} at $repo is ready for cluster main \(encryption: none\)" -- "$pgbackup" --repo "$repo" repo-init
expect repo_init_again_adds_cluster 0 'ready for cluster reporting' -- "$pgbackup" --repo "$repo" --cluster reporting repo-init
expect list_empty 0 'no backups of cluster main yet' -- "$pgbackup" --repo "$repo" list
expect list_json_empty 0 '^\[\]$' -- "$pgbackup" --repo "$repo" --json list
mkdir -p "$work/foreign" && echo 15 >"$work/foreign/PG_VERSION"
expect repo_init_refuses_foreign_folder 4 'not empty and is not a libpgbackup repository' -- "$pgbackup" --repo "$work/foreign" repo-init
expect list_without_repository 1 'no libpgbackup repository at' -- "$pgbackup" --repo "$work/none" list
expect keygen_needs_output 2 'keygen needs --output' -- "$pgbackup" keygen
expect keygen 0 'public key: +.*/id.pub' -- "$pgbackup" keygen --output "$work/id"
expect keygen_refuses_overwrite 4 'exists already' -- "$pgbackup" keygen --output "$work/id"
if [ "$(stat -c %a "$work/id")" = 600 ] && openssl pkey -in "$work/id" -noout 2>/dev/null &&
   openssl pkey -pubin -in "$work/id.pub" -noout 2>/dev/null; then
  passed=$((passed + 1)); echo "ok   keygen_files_are_private_and_standard"
else
  failed=$((failed + 1)); echo "FAIL keygen_files_are_private_and_standard"
fi
expect repo_init_recipients 0 'encryption: recipients' -- "$pgbackup" --repo "$work/sealed" --recipient "$work/id.pub" --writer-key "$work/writer.key" repo-init
expect list_encrypted_without_key 1 'is encrypted: give --passphrase-file, --identity or --writer-key' -- "$pgbackup" --repo "$work/sealed" list
expect list_with_writer_key 0 'no backups' -- "$pgbackup" --repo "$work/sealed" --writer-key "$work/writer.key" list
expect list_with_identity 0 'no backups' -- "$pgbackup" --repo "$work/sealed" --identity "$work/id" list
printf 'right passphrase\n' >"$work/pass" && chmod 600 "$work/pass"
printf 'wrong passphrase\n' >"$work/wrong" && chmod 600 "$work/wrong"
expect repo_init_passphrase 0 'encryption: passphrase' -- "$pgbackup" --repo "$work/secret" --passphrase-file "$work/pass" repo-init
expect wrong_passphrase_exits_1 1 'cannot decrypt: wrong key' -- "$pgbackup" --repo "$work/secret" --passphrase-file "$work/wrong" list
# Damage is not a wrong key: a damaged cluster record read through list exits 3.
record=$(find "$work/secret/clusters" -name cluster | head -n 1)
mkdir -p "$(dirname "$record")/backups" && cp "$record" "$(dirname "$record")/backups/20261125T000000Z-test"
printf '\x00' | dd of="$(dirname "$record")/backups/20261125T000000Z-test" bs=1 seek=100 conv=notrunc 2>/dev/null
expect damaged_record_exits_3 3 'damaged' -- "$pgbackup" --repo "$work/secret" --passphrase-file "$work/pass" list

conninfo=$("$fixture" start "$work/pg" "wal_level = replica" "archive_mode = off")
if [ -z "$conninfo" ]; then
  failed=$((failed + 1)); echo "FAIL fixture: the server did not start"
else
  expect probe_text 0 'archive_mode +off' -- "$pgbackup" --pg "$conninfo" probe
  expect probe_text_problems 0 'archive_mode is off: no WAL archive' -- "$pgbackup" --pg "$conninfo" probe
  sysid=$(psql -X -At -d "$conninfo" -c 'SELECT system_identifier FROM pg_control_system()' 2>/dev/null || \
          "${PGB_TEST_PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql" -X -At -d "$conninfo" -c 'SELECT system_identifier FROM pg_control_system()')
  expect probe_json_system_identifier 0 "\"system_identifier\": \"$sysid\"" -- "$pgbackup" --pg "$conninfo" --json probe
  # The conninfo through the environment and through a config file reaches the same server.
  expect probe_pg_from_env 0 "\"system_identifier\": \"$sysid\"" -- env PGBACKUP_PG="$conninfo" PGBACKUP_JSON=on "$pgbackup" probe
  printf '[global]\npg = %s\njson = true\n' "$conninfo" >"$work/good.conf"
  expect probe_pg_from_config 0 "\"system_identifier\": \"$sysid\"" -- "$pgbackup" --config "$work/good.conf" probe
  # The command line wins over the environment, which wins over the file.
  expect cli_beats_env 1 'port=1\)' -- env PGBACKUP_PG="$conninfo" "$pgbackup" --pg "host=127.0.0.1 port=1" probe
  expect env_beats_file 1 'port=1\)' -- env PGBACKUP_PG="host=127.0.0.1 port=1" "$pgbackup" --config "$work/good.conf" probe
  # A physical backup through the CLI, verified, damaged, restored.
  prepo=$work/prepo
  "$pgbackup" --repo "$prepo" repo-init >/dev/null
  expect backup_physical 0 'backup [0-9T.]+Z-full committed' -- "$pgbackup" --repo "$prepo" --pg "$conninfo" --checkpoint fast backup --type physical
  expect list_shows_backup 0 'Z-full +physical' -- "$pgbackup" --repo "$prepo" list
  expect verify_ok 0 'verified, no problem found' -- "$pgbackup" --repo "$prepo" verify
  expect restore_dry_run 0 'backup: +[0-9T.]+Z-full' -- "$pgbackup" --repo "$prepo" restore --to "$work/restored" --dry-run
  expect restore_dry_run_json 0 '"mode": "backup-only"' -- "$pgbackup" --repo "$prepo" restore --to "$work/restored" --dry-run --json
  expect restore_bad_target_time_exits_2 2 'target-time .* offset' -- "$pgbackup" --repo "$prepo" restore --to "$work/restored" --target-time '2026-01-01 10:00:00'
  expect restore_two_targets_exits_2 2 'both set' -- "$pgbackup" --repo "$prepo" restore --to "$work/restored" --target-lsn 0/1 --target-name x
  expect restore 0 'restored backup .* into' -- "$pgbackup" --repo "$prepo" restore --to "$work/restored"
  expect restore_into_non_empty_exits_4 4 'not empty' -- "$pgbackup" --repo "$prepo" restore --to "$work/restored"
  expect restore_over_running_cluster_exits_4 4 'is running' -- "$pgbackup" --repo "$prepo" restore --to "$work/pg/data" --delta
  pack=$(find "$prepo" -path '*/packs/*' -type f -size +8k | head -n 1)
  printf '\x55' | dd of="$pack" bs=1 seek=5000 conv=notrunc 2>/dev/null
  expect verify_damage_exits_3 3 'checksum .* is damaged' -- "$pgbackup" --repo "$prepo" verify --all
  expect backup_logical 0 'backup [0-9T.]+Z-logical committed' -- "$pgbackup" --repo "$prepo" --pg "$conninfo" backup --type logical
  expect backup_local 0 'backup [0-9T.]+Z-full committed' -- "$pgbackup" --repo "$prepo" --pg "$conninfo" --pgdata "$work/pg/data" --jobs 2 --checkpoint fast backup --type physical --mode local
  expect verify_local 0 'verified, no problem found' -- "$pgbackup" --repo "$prepo" verify

  json=$("$pgbackup" --pg "$conninfo" --json probe)
  if /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["wal_level"]=="replica" and d["data_checksums"] is True and d["replication_connection_ok"] is True' <<<"$json"; then
    passed=$((passed + 1)); echo "ok   probe_json_parses"
  else
    failed=$((failed + 1)); echo "FAIL probe_json_parses: $json"
  fi
fi

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
