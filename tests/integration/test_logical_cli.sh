#!/usr/bin/env bash
# Logical and globals backups and restores through the CLI, against a real
# PostgreSQL 15 server: exit codes (0 ok, 1 failed, 2 usage, 4 refused), list
# showing the kind and databases, show and list --contents listing a backup's
# objects, restore --dry-run showing the plan, and the errors of CLI.md (an
# unknown backup id, a missing database, missing client programs) changing
# nothing.
#
# Usage: test_logical_cli.sh PGBACKUP PGFIXTURE
set -uo pipefail
pgbackup=$(realpath "$1")
fixture=$2
bindir=${PGB_TEST_PG_BINDIR:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/pgb-logical-cli.XXXXXX)
chmod 700 "$work"
passed=0 failed=0

cleanup() {
  "$fixture" stop "$work/pg" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi; }
# expect_code NAME CODE COMMAND...: the command's exit code must be CODE.
expect_code() {
  local name=$1 code=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  check "$name (exit $code)" "$code" "$?"
}

conninfo=$("$fixture" start "$work/pg") || { echo "FAIL fixture"; exit 1; }
sql() { "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$conninfo" "$@"; }
sql -c "CREATE DATABASE sales" &&
  "$bindir/psql" -X -q -d "${conninfo/dbname=postgres/dbname=sales}" -v ON_ERROR_STOP=1 -c "
    CREATE TABLE items (id serial PRIMARY KEY, name text UNIQUE);
    CREATE TABLE sold (id int PRIMARY KEY, item int REFERENCES items(id), at date DEFAULT '2026-01-01');
    CREATE INDEX sold_at ON sold(at);
    INSERT INTO items(name) SELECT 'item ' || g FROM generate_series(1, 50) g;
    INSERT INTO sold SELECT g, 1 + g % 50 FROM generate_series(1, 1000) g;
    CREATE SCHEMA archive;
    CREATE TABLE archive.old (id serial PRIMARY KEY, note text NOT NULL);
    CREATE INDEX old_note ON archive.old(note);
    INSERT INTO archive.old(note) SELECT md5(g::text) FROM generate_series(1, 200) g;" || { echo "FAIL setup"; exit 1; }
sales=${conninfo/dbname=postgres/dbname=sales}

export PGBACKUP_REPO=$work/repo PGBACKUP_PASSPHRASE_FILE=$work/pass PGBACKUP_PG=$conninfo PGBACKUP_PG_BINDIR=$bindir
echo "cli passphrase" >"$work/pass"
chmod 600 "$work/pass"
"$pgbackup" repo-init >/dev/null || { echo "FAIL repo-init"; exit 1; }

expect_code "backup --type logical" 0 "$pgbackup" backup --type logical --db sales --json
logical=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/out")
expect_code "backup --type globals" 0 "$pgbackup" backup --type globals
expect_code "backup of every database" 0 "$pgbackup" backup --type logical
expect_code "list" 0 "$pgbackup" list
check "list shows the logical backup with its database" "1" "$(grep -c "^$logical  *logical .*  sales$" "$work/out")"
check "list shows every database of the default backup" "1" "$(grep -c 'logical .*  postgres,sales$' "$work/out")"
check "list shows the globals backup" "1" "$(grep -c ' globals ' "$work/out")"

expect_code "show" 0 "$pgbackup" show "$logical"
check "show lists the tables" "2" "$(grep -c '^TABLE  *public  *\(items\|sold\) ' "$work/out")"
check "show lists the index" "1" "$(grep -c '^INDEX  *public  *sold_at ' "$work/out")"
expect_code "list --contents --json" 0 "$pgbackup" list --contents "$logical" --json
check "contents as JSON" "sales" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["databases"][0]["name"])' "$work/out")"
expect_code "show of a globals backup" 2 "$pgbackup" show "$(grep -o '^[^ ]*-globals' <("$pgbackup" list))"
expect_code "show without an id" 2 "$pgbackup" show

# Errors change nothing.
count=$("$pgbackup" list | wc -l)
expect_code "unknown backup id" 1 "$pgbackup" restore --type logical --backup 20200101T000000.000Z-logical --db sales --create --target-db x
check "unknown backup id named" "1" "$(grep -c '20200101T000000.000Z-logical not found' "$work/err")"
expect_code "database not in the backup" 1 "$pgbackup" restore --type logical --backup "$logical" --db nope
expect_code "missing database to back up" 1 "$pgbackup" backup --type logical --db nope
expect_code "missing client programs" 1 "$pgbackup" backup --type logical --db sales --pg-bindir "$work/nothing"
check "missing programs named" "1" "$(grep -c "$work/nothing" "$work/err")"
expect_code "bad format" 2 "$pgbackup" backup --type logical --format tar
expect_code "globals with --db" 2 "$pgbackup" restore --type globals --db sales
check "no backup was added by the failures" "$count" "$("$pgbackup" list | wc -l)"
check "no database was created by the failures" "0" "$(sql -c "SELECT count(*) FROM pg_database WHERE datname = 'x'")"

# Restores.
expect_code "restore into the existing database is refused with --create" 4 "$pgbackup" restore --type logical --backup "$logical" --db sales --create
expect_code "dry run" 0 "$pgbackup" restore --type logical --backup "$logical" --db sales --create --target-db sales_copy --dry-run
check "dry run shows the plan" "1" "$(grep -c 'into sales_copy, created' "$work/out")"
check "dry run creates nothing" "0" "$(sql -c "SELECT count(*) FROM pg_database WHERE datname = 'sales_copy'")"
expect_code "whole restore into a new database" 0 "$pgbackup" restore --type logical --backup "$logical" --db sales --create --target-db sales_copy --jobs 2
copy=${conninfo/dbname=postgres/dbname=sales_copy}
fingerprint="SELECT md5(string_agg(s::text, ',' ORDER BY s.id)) FROM sold s"
check "restored rows" "$("$bindir/psql" -X -At -d "$sales" -c "$fingerprint")" "$("$bindir/psql" -X -At -d "$copy" -c "$fingerprint")"
"$bindir/psql" -X -q -d "$copy" -c "DROP TABLE sold"
expect_code "selective restore" 0 "$pgbackup" restore --type logical --backup "$logical" --db sales --target-db sales_copy --table public.sold --json
check "selective restore reports its objects" "1" "$(python3 -c 'import json,sys; print(int("INDEX public.sold_at" in json.load(open(sys.argv[1]))["objects"]))' "$work/out")"
check "selected table back" "$("$bindir/psql" -X -At -d "$sales" -c "$fingerprint")" "$("$bindir/psql" -X -At -d "$copy" -c "$fingerprint")"
expect_code "selective restore of a table that exists is refused" 4 "$pgbackup" restore --type logical --backup "$logical" --db sales --target-db sales_copy --table public.sold
# A schema comes back whole: its tables' rows, indexes and sequence values.
"$bindir/psql" -X -q -d "$copy" -c "DROP SCHEMA archive CASCADE"
expect_code "schema restore" 0 "$pgbackup" restore --type logical --backup "$logical" --db sales --target-db sales_copy --schema archive
old="SELECT md5(string_agg(o::text, ',' ORDER BY o.id)) || ':' || (SELECT last_value FROM archive.old_id_seq) FROM archive.old o"
check "schema rows and sequence back" "$("$bindir/psql" -X -At -d "$sales" -c "$old")" "$("$bindir/psql" -X -At -d "$copy" -c "$old")"
check "schema index back" "1" "$("$bindir/psql" -X -At -d "$copy" -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'archive' AND indexname = 'old_note'")"
expect_code "globals restore" 0 "$pgbackup" restore --type globals

echo "logical cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
