package pgbackup_test

import (
	"encoding/json"
	"strings"
	"testing"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

const goShopSetup = `
CREATE TABLE parent (id serial PRIMARY KEY, name text UNIQUE);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent(id), note text);
CREATE INDEX child_note ON child (note);
CREATE VIEW child_names AS SELECT c.id, p.name FROM child c JOIN parent p ON p.id = c.parent_id;
INSERT INTO parent(name) SELECT 'p' || g FROM generate_series(1, 40) g;
INSERT INTO child SELECT g, 1 + g % 40, 'note ' || g FROM generate_series(1, 400) g;`

const childFingerprint = "SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) FROM child c"

func inDatabase(conninfo, name string) string {
	return strings.Replace(conninfo, "dbname=postgres", "dbname="+name, 1)
}

// A logical backup of database go_shop and a globals backup, in a new repository.
func logicalBackups(t *testing.T) (repo *pgbackup.Repo, conninfo string, logical, globals *pgbackup.BackupRecord) {
	t.Helper()
	conninfo = requireServer(t)
	psqlOn(t, conninfo, "DROP DATABASE IF EXISTS go_shop")
	psqlOn(t, conninfo, "DROP DATABASE IF EXISTS go_shop_copy")
	psqlOn(t, conninfo, "CREATE DATABASE go_shop")
	psqlOn(t, inDatabase(conninfo, "go_shop"), goShopSetup)
	psqlOn(t, conninfo, "DROP ROLE IF EXISTS go_role")
	psqlOn(t, conninfo, "CREATE ROLE go_role LOGIN PASSWORD 'go-secret'")
	repo = mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	var err error
	logical, err = repo.Backup(options(t, "type", "logical", "pg", conninfo, "db", "go_shop", "pg-bindir", pgBindir()))
	if err != nil {
		t.Fatalf("logical backup: %v", err)
	}
	globals, err = repo.Backup(options(t, "type", "globals", "pg", conninfo, "pg-bindir", pgBindir()))
	if err != nil {
		t.Fatalf("globals backup: %v", err)
	}
	return repo, conninfo, logical, globals
}

func TestLogicalBackupRestoreAndContents(t *testing.T) {
	repo, conninfo, logical, globals := logicalBackups(t)
	shop := inDatabase(conninfo, "go_shop")
	if logical.Type != "logical" || strings.Join(logical.Databases(), ",") != "go_shop" || globals.Type != "globals" {
		t.Fatalf("records: %s / %s", logical.JSON, globals.JSON)
	}

	contents, err := repo.BackupContents(logical.ID, nil)
	if err != nil {
		t.Fatalf("BackupContents: %v", err)
	}
	found := map[string]bool{}
	for _, o := range contents.Databases[0].Objects {
		found[o.Kind+" "+o.Schema+"."+o.Name] = true
	}
	if !found["TABLE public.child"] || !found["INDEX public.child_note"] || !found["VIEW public.child_names"] {
		t.Fatalf("contents lack objects: %v", found)
	}

	// Selective: a dropped table comes back with its index and the view on it.
	before := psqlOn(t, shop, childFingerprint)
	psqlOn(t, shop, "DROP TABLE child CASCADE")
	plan, err := repo.LogicalRestore(options(t, "backup", logical.ID, "db", "go_shop", "pg", conninfo, "table",
		"public.child", "pg-bindir", pgBindir()))
	if err != nil {
		t.Fatalf("LogicalRestore: %v", err)
	}
	defer plan.Close()
	if info := plan.Info(); info.Mode != "selective" || info.Input != "partial-file" {
		t.Fatalf("plan: %s", info.JSON)
	}
	report, err := plan.Execute()
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	var analyzed []string
	if json.Unmarshal(report.Analyzed, &analyzed) != nil || strings.Join(analyzed, ",") != "public.child" {
		t.Fatalf("analyzed: %s", report.Analyzed)
	}
	if after := psqlOn(t, shop, childFingerprint); after != before {
		t.Fatalf("rows differ after the selective restore")
	}
	if n := strings.TrimSpace(psqlOn(t, shop, "SELECT count(*) FROM child_names")); n != "400" {
		t.Fatalf("view: %s rows", n)
	}

	// Whole, into a new database, with two jobs.
	whole, err := repo.LogicalRestore(options(t, "backup", logical.ID, "pg", conninfo, "create", "true",
		"target-db", "go_shop_copy", "jobs", "2", "pg-bindir", pgBindir()))
	if err != nil {
		t.Fatalf("LogicalRestore whole: %v", err)
	}
	defer whole.Close()
	if _, err := whole.Execute(); err != nil {
		t.Fatalf("Execute whole: %v", err)
	}
	if copied := psqlOn(t, inDatabase(conninfo, "go_shop_copy"), childFingerprint); copied != before {
		t.Fatalf("rows differ in the new database")
	}

	// Globals: a dropped role comes back with its password hash.
	hash := psqlOn(t, conninfo, "SELECT rolpassword FROM pg_authid WHERE rolname = 'go_role'")
	psqlOn(t, conninfo, "DROP ROLE go_role")
	replay, err := repo.LogicalRestore(options(t, "type", "globals", "backup", globals.ID, "pg", conninfo))
	if err != nil {
		t.Fatalf("LogicalRestore globals: %v", err)
	}
	defer replay.Close()
	done, err := replay.Execute()
	if err != nil {
		t.Fatalf("Execute globals: %v", err)
	}
	if len(done.Errors) != 0 || len(done.RolesExisting) == 0 {
		t.Fatalf("globals report: %s", done.JSON)
	}
	if again := psqlOn(t, conninfo, "SELECT rolpassword FROM pg_authid WHERE rolname = 'go_role'"); again != hash {
		t.Fatalf("password hash differs after the globals restore")
	}
}

func TestLogicalRestoreErrors(t *testing.T) {
	repo, conninfo, logical, _ := logicalBackups(t)
	_, err := repo.LogicalRestore(options(t, "backup", "20200101T000000.000Z-logical", "db", "go_shop", "pg",
		conninfo))
	asError(t, err, pgbackup.CodeNotFound)
	_, err = repo.LogicalRestore(options(t, "backup", logical.ID, "db", "go_shop", "pg", conninfo, "create", "true"))
	asError(t, err, pgbackup.CodeRefused)
	_, err = repo.BackupContents(logical.ID, options(t, "db", "nope"))
	asError(t, err, pgbackup.CodeNotFound)
	_, err = repo.Backup(options(t, "type", "logical", "pg", conninfo, "db", "go_shop", "pg-bindir", "/nonexistent"))
	asError(t, err, pgbackup.CodeNotFound)
}
