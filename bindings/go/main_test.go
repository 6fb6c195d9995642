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
	"syscall"
	"testing"
)

// The real PostgreSQL server of the probe tests, started once by TestMain.
var server struct {
	conninfo string
	err      error // why it did not start; probe tests fail with it
}

func TestMain(m *testing.M) {
	fixture, err := startFixture()
	server.err = err
	if fixture != nil {
		server.conninfo = fixture.conninfo
	}
	code := m.Run()
	if fixture != nil {
		fixture.stop()
	}
	os.Exit(code)
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
// temporary folder, outside the source tree.
func startFixture() (*fixture, error) {
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

	start := exec.Command(script, "start", dir, "wal_level = logical")
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

// psql asks the server directly, to compare with what the probe reports.
func psql(t *testing.T, sql string) string {
	t.Helper()
	program := os.Getenv("PGB_PSQL")
	if program == "" {
		program = "/usr/lib/postgresql/15/bin/psql"
	}
	out, err := exec.Command(program, "-X", "-A", "-t", "-c", sql, requireServer(t)).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("psql %q: %v: %s", sql, err, exit.Stderr)
		}
		t.Fatalf("psql %q: %v", sql, err)
	}
	return strings.TrimSpace(string(out))
}
