package pgbackup_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

const knownRows = 1000

// expectedRows are the rows makeTable inserts, computed here rather than read
// back, as psql prints them.
func expectedRows(note string) string {
	var b strings.Builder
	for i := 1; i <= knownRows; i++ {
		fmt.Fprintf(&b, "%d|%s %d\n", i, note, i)
	}
	return b.String()
}

func makeTable(t *testing.T, conninfo, name, note string) {
	t.Helper()
	psqlOn(t, conninfo, fmt.Sprintf("DROP TABLE IF EXISTS %[1]s; CREATE TABLE %[1]s (id int PRIMARY KEY, note text); "+
		"INSERT INTO %[1]s SELECT g, '%[2]s ' || g FROM generate_series(1, %[3]d) g", name, note, knownRows))
	if got := psqlOn(t, conninfo, "SELECT id, note FROM "+name+" ORDER BY id"); got != expectedRows(note) {
		t.Fatalf("table %s does not hold the rows just inserted", name)
	}
}

func backupOptions(t *testing.T, conninfo string, pairs ...string) *pgbackup.Options {
	t.Helper()
	return options(t, append([]string{"pg", conninfo, "checkpoint", "fast"}, pairs...)...)
}

// The repository most tests share: one full backup taken after a table of
// known rows was made. Made by the first test that needs it.
var shared struct {
	once  sync.Once
	dir   string
	first *pgbackup.BackupRecord
	err   error
}

func backedUp(t *testing.T) (dir string, first *pgbackup.BackupRecord) {
	t.Helper()
	conninfo := requireBackupServer(t)
	shared.once.Do(func() {
		// Stays set if a step below ends the test (t.Fatal): later tests fail with it.
		shared.err = errors.New("the test that made it failed first")
		makeTable(t, conninfo, "known_rows", "row")
		if shared.dir, shared.err = os.MkdirTemp("", "pgbackup-go-repo-"); shared.err != nil {
			return
		}
		sharedDirs = append(sharedDirs, shared.dir)
		ctx, err := pgbackup.NewContext()
		if err != nil {
			shared.err = err
			return
		}
		defer ctx.Close()
		s, err := pgbackup.OpenStorage(ctx, shared.dir, nil)
		if err != nil {
			shared.err = err
			return
		}
		repo, err := pgbackup.InitRepo(s, nil)
		if err != nil {
			shared.err = err
			return
		}
		opts, _ := pgbackup.NewOptions(ctx)
		opts.Set("pg", conninfo)
		opts.Set("checkpoint", "fast")
		shared.first, shared.err = repo.Backup(opts)
	})
	if shared.err != nil {
		t.Fatalf("the shared backup failed: %v", shared.err)
	}
	return shared.dir, shared.first
}

// openRepo opens the repository in dir on a Context of the test's own.
func openRepo(t *testing.T, dir string) *pgbackup.Repo {
	t.Helper()
	return mustOpen(t, openStorage(t, newContext(t), dir), nil)
}

func flipByte(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		t.Fatalf("read %s: %v (%d bytes)", path, err, len(data))
	}
	data[len(data)/2] ^= 0x10
	os.Chmod(path, 0o600)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// largestFile is the biggest regular file under root whose path matches.
func largestFile(t *testing.T, root string, match func(path string) bool) string {
	t.Helper()
	var best string
	var bestSize int64 = -1
	filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil || !entry.Type().IsRegular() || !match(path) {
			return err
		}
		if info, err := entry.Info(); err == nil && info.Size() > bestSize {
			best, bestSize = path, info.Size()
		}
		return nil
	})
	if best == "" {
		t.Fatalf("no matching file under %s", root)
	}
	return best
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		relative, _ := filepath.Rel(from, path)
		target := filepath.Join(to, relative)
		if entry.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o600)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", from, err)
	}
}

// startCluster starts a server on a restored data directory and returns its
// conninfo. The test's cleanup stops it and removes the directory, also when
// the test fails.
func startCluster(t *testing.T, dataDir string) string {
	t.Helper()
	sockets, err := os.MkdirTemp("", "pgb-sock-") // a Unix socket path may not exceed 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	pgCtl := filepath.Join(pgBindir(), "pg_ctl")
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(dataDir, "postmaster.pid")); err == nil {
			if exec.Command(pgCtl, "-D", dataDir, "-m", "fast", "-w", "-t", "60", "stop").Run() != nil {
				exec.Command(pgCtl, "-D", dataDir, "-m", "immediate", "-w", "stop").Run()
			}
		}
		os.RemoveAll(dataDir)
		os.RemoveAll(sockets)
	})
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	listener.Close()
	logFile := filepath.Join(sockets, "server.log")
	out, err := exec.Command(pgCtl, "-D", dataDir, "-l", logFile, "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", port, sockets), "start").CombinedOutput()
	if err != nil {
		serverLog, _ := os.ReadFile(logFile)
		t.Fatalf("the restored cluster did not start: %v: %s\n%s", err, out, serverLog)
	}
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres", port)
}

func TestBackupIsListedAsPhysical(t *testing.T) {
	dir, first := backedUp(t)
	if !regexp.MustCompile(`^\d{8}T\d{6}\.\d{3}Z-full$`).MatchString(first.ID) {
		t.Errorf("ID = %q", first.ID)
	}
	if first.Type != "physical" || first.Mode != "stream" || first.Incremental || first.Parent != "" {
		t.Errorf("record %+v: want a full physical backup in stream mode", first)
	}
	if !regexp.MustCompile(`^[0-9A-F]+/[0-9A-F]+$`).MatchString(first.StartLSN) || first.StopLSN == "" {
		t.Errorf("StartLSN = %q, StopLSN = %q", first.StartLSN, first.StopLSN)
	}
	if first.StoredSize <= 0 || first.StoredSize >= first.DatabaseSize {
		t.Errorf("StoredSize = %d, DatabaseSize = %d: want 0 < stored < database", first.StoredSize, first.DatabaseSize)
	}
	listed, err := openRepo(t, dir).List()
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 {
		t.Fatalf("List() has %d records, want 1", len(listed))
	}
	got := listed[0]
	got.JSON, first.JSON = nil, nil
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", *first) {
		t.Errorf("List() gives %+v, Backup gave %+v", got, *first)
	}
}

func TestVerifyReadsEveryFileOfTheBackup(t *testing.T) {
	dir, first := backedUp(t)
	repo := openRepo(t, dir)
	jobs := options(t, "jobs", "4")
	for i, id := range []string{"", first.ID, first.ID} {
		var report *pgbackup.VerifyReport
		var err error
		if i == 2 {
			report, err = repo.VerifyWithOptions(id, jobs)
		} else {
			report, err = repo.Verify(id)
		}
		if err != nil {
			t.Fatalf("Verify(%q): %v", id, err)
		}
		if !report.OK || len(report.Problems) != 0 || report.FilesChecked <= 900 || report.Directory != first.ID {
			t.Errorf("Verify(%q) = ok %v, %d files, %d problems, of %q: %s", id, report.OK, report.FilesChecked,
				len(report.Problems), report.Directory, report.JSON)
		}
		if report.BytesChecked != first.DatabaseSize {
			t.Errorf("BytesChecked = %d, want the database size %d", report.BytesChecked, first.DatabaseSize)
		}
	}
}

func TestVerifyFindsAFlippedByteInAPack(t *testing.T) {
	dir, first := backedUp(t)
	damaged := filepath.Join(t.TempDir(), "damaged")
	copyTree(t, dir, damaged) // the shared repository stays sound
	packs := regexp.MustCompile(`/clusters/[^/]+/packs/`)
	flipByte(t, largestFile(t, damaged, func(path string) bool { return packs.MatchString(path) }))
	report, err := openRepo(t, damaged).Verify(first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if report.OK {
		t.Fatalf("a flipped byte went unnoticed: %s", report.JSON)
	}
	found := false
	for _, problem := range report.Problems {
		if problem.Kind == "checksum" {
			found = true
			if problem.Path == "" || problem.Message == "" {
				t.Errorf("checksum problem without path or message: %+v", problem)
			}
		}
	}
	if !found {
		t.Errorf("no checksum problem: %s", report.JSON)
	}
}

func TestRestoredClusterStartsWithTheOriginalRows(t *testing.T) {
	dir, first := backedUp(t)
	target := filepath.Join(t.TempDir(), "restored")
	repo := openRepo(t, dir)
	plan, err := repo.RestorePlan(options(t, "to", target, "backup", first.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()
	info := plan.Info()
	if plan.BackupID() != first.ID || info.Target != target || info.WAL.Count < 1 || info.Bytes != first.DatabaseSize {
		t.Errorf("plan %+v: want backup %s into %s", info, first.ID, target)
	}
	if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a plan wrote %s before Execute", target)
	}
	if err := plan.Execute(); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	// The source changes after the backup; the restored cluster must not see it.
	psqlOn(t, requireBackupServer(t), "UPDATE known_rows SET note = 'changed' WHERE id = 2")
	conninfo := startCluster(t, target)
	if got := psqlOn(t, conninfo, "SELECT id, note FROM known_rows ORDER BY id"); got != expectedRows("row") {
		t.Errorf("the restored cluster holds other rows than the backup's (%d bytes, want %d)", len(got),
			len(expectedRows("row")))
	}
}

func TestVerifyDirPassesARestoredDirectoryThenFindsADamagedByte(t *testing.T) {
	dir, first := backedUp(t)
	target := filepath.Join(t.TempDir(), "restored")
	defer os.RemoveAll(target)
	info, err := openRepo(t, dir).Restore(options(t, "to", target, "backup", first.ID))
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if info.Backup != first.ID {
		t.Errorf("restored %s, want %s", info.Backup, first.ID)
	}
	sound, err := pgbackup.VerifyDir(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sound.OK || sound.FilesChecked <= 900 || sound.Directory != target {
		t.Fatalf("VerifyDir of a fresh restore: %s", sound.JSON)
	}
	victim := largestFile(t, filepath.Join(target, "base"), func(string) bool { return true })
	flipByte(t, victim)
	relative, _ := filepath.Rel(target, victim)
	damaged, err := newContext(t).VerifyDir(target, options(t, "jobs", "2"))
	if err != nil {
		t.Fatal(err)
	}
	want := []pgbackup.VerifyProblem{{Kind: "checksum", Path: filepath.ToSlash(relative)}}
	if damaged.OK || len(damaged.Problems) != 1 || damaged.Problems[0].Kind != want[0].Kind ||
		damaged.Problems[0].Path != want[0].Path || !strings.Contains(damaged.Problems[0].Message, want[0].Path) {
		t.Errorf("VerifyDir after damaging %s: %s", relative, damaged.JSON)
	}
}

func TestVerifyDirOfAMissingFolder(t *testing.T) {
	_, err := pgbackup.VerifyDir(filepath.Join(t.TempDir(), "absent"), nil)
	asError(t, err, pgbackup.CodeNotFound)
}

func TestRestoreIntoANonEmptyFolderIsRefused(t *testing.T) {
	dir, _ := backedUp(t)
	target := t.TempDir()
	keep := secretFile(t, target, "keep.txt", "mine")
	_, err := openRepo(t, dir).Restore(options(t, "to", target))
	e := asError(t, err, -11)
	if e.Name != "PGB_EREFUSED" || !strings.Contains(e.Message, "not empty") {
		t.Errorf("got %s %q", e.Name, e.Message)
	}
	entries, _ := os.ReadDir(target)
	if text, _ := os.ReadFile(keep); len(entries) != 1 || string(text) != "mine" {
		t.Errorf("the refused restore changed %s", target)
	}
}

func TestRestoreOfAnUnknownBackup(t *testing.T) {
	dir, _ := backedUp(t)
	_, err := openRepo(t, dir).RestorePlan(options(t, "to", filepath.Join(t.TempDir(), "x"),
		"backup", "20000101T000000.000Z-full"))
	if e := asError(t, err, pgbackup.CodeNotFound); !strings.Contains(e.Message, "20000101T000000.000Z-full") {
		t.Errorf("message %q does not name the backup", e.Message)
	}
}

func TestIncrementalAfterAnUpdateHasTheFullBackupAsParent(t *testing.T) {
	conninfo := requireBackupServer(t)
	makeTable(t, conninfo, "incremental_rows", "before")
	repo := mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	full, err := repo.Backup(backupOptions(t, conninfo))
	if err != nil {
		t.Fatal(err)
	}
	psqlOn(t, conninfo, "UPDATE incremental_rows SET note = 'after' WHERE id <= 10")
	incremental, err := repo.Backup(backupOptions(t, conninfo, "incremental", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if !incremental.Incremental || incremental.Parent != full.ID || !strings.HasSuffix(incremental.ID, "-incr") {
		t.Errorf("incremental %+v: want parent %s", incremental, full.ID)
	}
	if incremental.StoredSize >= full.StoredSize {
		t.Errorf("incremental stored %d bytes, the full %d: unchanged chunks were not reused",
			incremental.StoredSize, full.StoredSize)
	}
	listed, err := repo.List()
	if err != nil || len(listed) != 2 || listed[0].ID != full.ID || listed[1].ID != incremental.ID ||
		listed[1].Parent != full.ID {
		t.Errorf("List() = %+v, %v", listed, err)
	}
	if report, err := repo.Verify(incremental.ID); err != nil || !report.OK {
		t.Errorf("Verify(incremental): %v %v", err, report)
	}
}

func TestBackupContextCanceledRightAfterStart(t *testing.T) {
	conninfo := requireBackupServer(t)
	repo := mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	ctx, cancel := context.WithCancel(context.Background())
	type outcome struct {
		record *pgbackup.BackupRecord
		err    error
	}
	done := make(chan outcome)
	opts := backupOptions(t, conninfo)
	go func() {
		record, err := repo.BackupContext(ctx, opts)
		done <- outcome{record, err}
	}()
	cancel()
	result := <-done
	if result.record != nil {
		t.Fatalf("the backup was committed despite the cancel: %s", result.record.ID)
	}
	e := asError(t, result.err, -9)
	if e.Name != "PGB_ECANCELED" || !errors.Is(result.err, context.Canceled) {
		t.Errorf("got %s %q (wraps context.Canceled: %v)", e.Name, e.Message, errors.Is(result.err, context.Canceled))
	}
	if listed, err := repo.List(); err != nil || len(listed) != 0 {
		t.Errorf("List() after a canceled backup = %+v, %v; want none", listed, err)
	}
	// A context done before the call cancels the job before it connects.
	record, err := repo.BackupContext(ctx, nil)
	asError(t, err, pgbackup.CodeCanceled)
	// A deadline that passes during the run stops it from the watching goroutine.
	short, stop := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer stop()
	_, err = repo.BackupContext(short, opts)
	if asError(t, err, pgbackup.CodeCanceled); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a backup stopped by its deadline: %v does not wrap context.DeadlineExceeded", err)
	}
	// The cancel does not stick to the Context, and the writer lock was released.
	if record, err = repo.Backup(opts); err != nil {
		t.Fatalf("Backup after a canceled one: %v", err)
	}
	if listed, err := repo.List(); err != nil || len(listed) != 1 || listed[0].ID != record.ID {
		t.Errorf("List() = %+v, %v; want only %s", listed, err, record.ID)
	}
}

func TestBackupOfAnUnknownLogicalFormat(t *testing.T) {
	repo := mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	_, err := repo.Backup(options(t, "type", "logical", "format", "tar"))
	if e := asError(t, err, pgbackup.CodeInvalid); !strings.Contains(e.Message, "custom or directory") {
		t.Errorf("message %q does not name the formats", e.Message)
	}
}

func TestClosingTheRepositoryClosesItsRestorePlans(t *testing.T) {
	dir, first := backedUp(t)
	target := filepath.Join(t.TempDir(), "never")
	repo := openRepo(t, dir)
	plan, err := repo.RestorePlan(options(t, "to", target))
	if err != nil {
		t.Fatal(err)
	}
	if plan.BackupID() != first.ID {
		t.Errorf("BackupID() = %s, want the newest, %s", plan.BackupID(), first.ID)
	}
	repo.Close()
	asError(t, plan.Execute(), pgbackup.CodeInvalid)
	plan.Close()
	if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a closed plan wrote %s", target)
	}
}

func TestPointInTimePlansNameTheirTargetAndRestoreCommand(t *testing.T) {
	dir, first := backedUp(t)
	repo := openRepo(t, dir)
	target := filepath.Join(t.TempDir(), "pitr")
	// The backup alone: nothing archived after it, so no archive recovery.
	plan, err := repo.RestorePlan(options(t, "to", target))
	if err != nil {
		t.Fatal(err)
	}
	if info := plan.Info(); info.Recovery.Mode != "backup-only" || info.RestoreCommand != nil ||
		info.Recovery.Target.Kind != "latest" || info.Recovery.Timeline != 1 {
		t.Errorf("default plan: %s", info.JSON)
	}
	plan.Close()
	plan, err = repo.RestorePlan(options(t, "to", target, "target", "immediate", "target-action", "promote",
		"program", "/bin/true", "repo", dir))
	if err != nil {
		t.Fatal(err)
	}
	info := plan.Info()
	if info.Recovery.Mode != "archive-recovery" || info.Recovery.Target.Action != "promote" ||
		info.RestoreCommand == nil || !strings.Contains(*info.RestoreCommand, "pgbackup-restore.conf' wal-fetch %f %p") ||
		len(info.Recovery.TimelinePath) != 1 || info.Recovery.TimelinePath[0].End != nil {
		t.Errorf("immediate plan: %s", info.JSON)
	}
	plan.Close()
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("planning wrote %s", target)
	}
	// No backup ends before an LSN at the very start of WAL.
	_, err = repo.RestorePlan(options(t, "to", target, "target-lsn", "0/1", "program", "/bin/true"))
	if e := asError(t, err, pgbackup.CodeNotFound); !strings.Contains(e.Message, "no physical backup") {
		t.Errorf("message %q", e.Message)
	}
	_, err = repo.RestorePlan(options(t, "to", target, "backup", first.ID, "target-time", "yesterday"))
	if e := asError(t, err, pgbackup.CodeInvalid); !strings.Contains(e.Message, "target-time") {
		t.Errorf("message %q", e.Message)
	}
}
