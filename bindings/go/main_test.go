package pgbackup_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The real PostgreSQL server of the probe tests, started once by TestMain.
var server struct {
	conninfo string
	err      error // why it did not start; probe tests fail with it
}

// The server that backups stream from (wal_level = replica), started by the
// first test that needs it and stopped by TestMain.
var backupServer struct {
	once     sync.Once
	fixture  *fixture
	conninfo string
	err      error
}

// Folders shared by several tests (a repository with a backup), removed by TestMain.
var sharedDirs []string

func TestMain(m *testing.M) {
	fixture, err := startFixture("wal_level = logical")
	server.err = err
	if fixture != nil {
		server.conninfo = fixture.conninfo
	}
	code := m.Run()
	if fixture != nil {
		fixture.stop()
	}
	if backupServer.fixture != nil {
		backupServer.fixture.stop()
	}
	for _, dir := range sharedDirs {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// requireBackupServer starts the backup server on first use, or fails (never
// skips) the test when it cannot start.
func requireBackupServer(t *testing.T) string {
	t.Helper()
	backupServer.once.Do(func() {
		backupServer.fixture, backupServer.err = startFixture("wal_level = replica", "max_wal_senders = 4")
		if backupServer.fixture != nil {
			backupServer.conninfo = backupServer.fixture.conninfo
		}
	})
	if backupServer.err != nil {
		t.Fatalf("PostgreSQL fixture for backups did not start: %v", backupServer.err)
	}
	return backupServer.conninfo
}

// requireServer fails (never skips) a test when the server did not start:
// without it the probe would go untested.
func requireServer(t *testing.T) string {
	t.Helper()
	if server.err != nil {
		t.Fatalf("PostgreSQL fixture did not start: %v", server.err)
	}
	return server.conninfo
}

type fixture struct {
	conninfo string
	guard    *exec.Cmd
	release  io.WriteCloser
}

// startFixture runs tests/support/pgfixture (or $PGB_FIXTURE) in a fresh
// temporary folder, outside the source tree, with postgresql.conf settings.
func startFixture(settings ...string) (*fixture, error) {
	script := os.Getenv("PGB_FIXTURE")
	if script == "" {
		// go test runs in the package folder, bindings/go.
		script = filepath.Join("..", "..", "tests", "support", "pgfixture")
	}
	parent, err := os.MkdirTemp("", "pgbackup-go-")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(parent, "pg") // pgfixture wants a folder that does not exist yet

	// A guard process stops the server once its stdin closes: on stop(), and
	// also when this process dies, since a panic or a -timeout ends a test
	// binary without running deferred code. Its own process group keeps it
	// alive through a Ctrl-C sent to ours.
	guard := exec.Command("/bin/sh", "-c", `read -r _; "$0" stop "$1"; rm -rf "$2"`, script, dir, parent)
	guard.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	release, err := guard.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := guard.Start(); err != nil {
		os.RemoveAll(parent)
		return nil, err
	}
	f := &fixture{guard: guard, release: release}

	start := exec.Command(script, append([]string{"start", dir}, settings...)...)
	var stderr bytes.Buffer
	start.Stderr = &stderr
	out, err := start.Output()
	if err != nil {
		f.stop()
		return nil, fmt.Errorf("%s start: %v: %s", script, err, strings.TrimSpace(stderr.String()))
	}
	f.conninfo = strings.TrimSpace(string(out))
	return f, nil
}

func (f *fixture) stop() {
	f.release.Close()
	f.guard.Wait()
}

// pgBindir is where the PostgreSQL programs are: $PGB_TEST_PG_BINDIR, or
// those of PostgreSQL 15.
func pgBindir() string {
	if dir := os.Getenv("PGB_TEST_PG_BINDIR"); dir != "" {
		return dir
	}
	return "/usr/lib/postgresql/15/bin"
}

// psql asks the server directly, to compare with what the probe reports.
func psql(t *testing.T, sql string) string {
	t.Helper()
	return strings.TrimSpace(psqlOn(t, requireServer(t), sql))
}

// psqlOn runs sql on the server at conninfo and returns what psql prints,
// unaligned, one row a line.
func psqlOn(t *testing.T, conninfo, sql string) string {
	t.Helper()
	program := os.Getenv("PGB_PSQL")
	if program == "" {
		program = filepath.Join(pgBindir(), "psql")
	}
	out, err := exec.Command(program, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql, conninfo).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("psql %q: %v: %s", sql, err, exit.Stderr)
		}
		t.Fatalf("psql %q: %v", sql, err)
	}
	return string(out)
}
