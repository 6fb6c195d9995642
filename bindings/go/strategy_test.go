package pgbackup_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

// A repository of its own with two full backups: expire changes it.
func strategyRepo(t *testing.T) (*pgbackup.Repo, []string) {
	t.Helper()
	conninfo := requireBackupServer(t)
	makeTable(t, conninfo, "strategy_rows", "row")
	repo := mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	var ids []string
	for i := 0; i < 2; i++ {
		record, err := repo.Backup(backupOptions(t, conninfo))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, record.ID)
	}
	return repo, ids
}

func TestPolicyDrillStatusRunbookAndExpire(t *testing.T) {
	repo, ids := strategyRepo(t)
	var policy struct {
		RPO     *int64   `json:"rpo_seconds"`
		Require []string `json:"require"`
	}
	document, err := repo.Policy(options(t, "rpo", "15min", "require", "pitr", "keep-full", "1"))
	if err != nil || json.Unmarshal(document, &policy) != nil || policy.RPO == nil || *policy.RPO != 900 ||
		len(policy.Require) != 1 {
		t.Fatalf("Policy: %v %s", err, document)
	}
	if _, err := repo.Policy(options(t, "rto", "later")); err == nil || !strings.Contains(err.Error(), "rto 'later'") {
		t.Errorf("a bad duration: %v", err)
	}

	scratch := t.TempDir()
	report, err := repo.Drill(options(t, "probe", "SELECT count(*) FROM strategy_rows => 1000", "scratch-dir", scratch))
	if err != nil || !report.Passed || report.RTOSeconds == nil || *report.RTOSeconds <= 0 || *report.Probes[0].Got != "1000" {
		t.Fatalf("Drill: %v %s", err, report.JSON)
	}
	failed, err := repo.Drill(options(t, "probe", "SELECT count(*) FROM strategy_rows => 7", "scratch-dir", scratch))
	if err != nil || failed.Passed || *failed.Probes[0].Error != "expected 7, got 1000" {
		t.Fatalf("failing drill: %v %s", err, failed.JSON)
	}
	if entries, _ := os.ReadDir(scratch); len(entries) != 0 {
		t.Errorf("drills left %d entries in the scratch folder", len(entries))
	}

	level, text, err := repo.Status(nil, "nagios")
	if err != nil || level != pgbackup.HealthCritical || !strings.HasPrefix(text, "PGBACKUP CRITICAL - cluster main:") {
		t.Errorf("Status: %d %q %v", level, text, err)
	}
	if _, _, err := repo.Status(nil, "yaml"); err == nil {
		t.Error("an unknown format is an error")
	}
	findings, err := repo.Check(nil)
	codes := map[string]bool{}
	for _, f := range findings {
		codes[f.Code] = true
	}
	if err != nil || !codes["drill-failed"] || !codes["no-runbook"] || !codes["no-wal-archive"] {
		t.Errorf("Check: %v %+v", err, findings)
	}
	markdown, err := repo.Runbook(nil)
	if err != nil || !strings.Contains(markdown, ids[1]) {
		t.Errorf("Runbook: %v", err)
	}
	if findings, _ := repo.Check(nil); len(findings) > 0 {
		for _, f := range findings {
			if f.Code == "no-runbook" {
				t.Error("no-runbook after generating it")
			}
		}
	}

	var expired struct {
		Backups []struct {
			ID   string `json:"id"`
			Keep bool   `json:"keep"`
		} `json:"backups"`
	}
	raw, err := repo.Expire(options(t, "dry-run", "true"))
	if err != nil || json.Unmarshal(raw, &expired) != nil || len(expired.Backups) != 2 || expired.Backups[0].Keep ||
		!expired.Backups[1].Keep {
		t.Fatalf("Expire dry run: %v %s", err, raw)
	}
	if _, err := repo.Expire(nil); err != nil {
		t.Fatal(err)
	}
	list, err := repo.List()
	if err != nil || len(list) != 1 || list[0].ID != ids[1] {
		t.Errorf("after expire: %v %+v", err, list)
	}
}
