package pgbackup_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

// startServer runs tests/support/test-servers KIND start in a temp folder: s3rver or
// sshd on a loopback port. Without the programs the test is skipped, except under CI.
func startServer(t *testing.T, kind string) (string, int) {
	t.Helper()
	script, err := filepath.Abs("../../tests/support/test-servers")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "pgb-go-"+kind+"-")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(script, kind, "start", dir).Output()
	if exit, ok := err.(*exec.ExitError); ok && exit.ExitCode() == 2 && os.Getenv("CI") != "true" {
		os.RemoveAll(dir)
		t.Skipf("%s is not installed (scripts/install-deps installs it)", kind)
	}
	if err != nil {
		t.Fatalf("%s did not start: %v", kind, err)
	}
	t.Cleanup(func() {
		exec.Command(script, kind, "stop", dir).Run()
		os.RemoveAll(dir)
	})
	port, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("port %q: %v", out, err)
	}
	return dir, port
}

func openRemote(t *testing.T, url string, settings map[string]string) *pgbackup.Storage {
	t.Helper()
	ctx := newContext(t)
	opts, err := pgbackup.NewOptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(opts.Close)
	for k, v := range settings {
		if err := opts.Set(k, v); err != nil {
			t.Fatalf("Set(%s): %v", k, err)
		}
	}
	s, err := pgbackup.OpenStorage(ctx, url, opts)
	if err != nil {
		t.Fatalf("OpenStorage(%q): %v", url, err)
	}
	t.Cleanup(s.Close)
	return s
}

// exerciseRemote: objects round-trip (one in S3 parts), create-only refuses, listing and
// removal agree, and a repository can be made and locked there.
func exerciseRemote(t *testing.T, s *pgbackup.Storage) {
	t.Helper()
	data := make([]byte, 7<<20)
	rand.Read(data)
	mustPut(t, s, "packs/big", data)
	back, err := s.Get("packs/big")
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("Get(packs/big): %v (equal %v)", err, bytes.Equal(back, data))
	}
	if err := s.PutNew("records/one", []byte("first")); err != nil {
		t.Fatal(err)
	}
	asError(t, s.PutNew("records/one", []byte("second")), pgbackup.CodeExists)
	objects, err := s.List("")
	if err != nil || len(objects) != 2 {
		t.Fatalf("List: %v %v", objects, err)
	}
	for _, key := range []string{"packs/big", "records/one"} {
		if err := s.Remove(key); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := pgbackup.InitRepo(s, nil)
	if err != nil {
		t.Fatalf("InitRepo on %s: %v", s.Name(), err)
	}
	defer repo.Close()
	if err := repo.Lock(); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := repo.Unlock(); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}

func TestS3StorageURL(t *testing.T) {
	_, port := startServer(t, "s3rver")
	t.Setenv("AWS_ACCESS_KEY_ID", "S3RVER")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "S3RVER")
	settings := map[string]string{
		"s3-endpoint": "http://127.0.0.1:" + strconv.Itoa(port), "s3-uri-style": "path", "s3-part-size": "5",
	}
	s := openRemote(t, "s3://pgbackup-test/go/objects", settings)
	if s.Name() != "s3://pgbackup-test/go/objects" {
		t.Errorf("Name() = %q", s.Name())
	}
	exerciseRemote(t, s)

	t.Setenv("AWS_ACCESS_KEY_ID", "NOSUCHKEY")
	bad := openRemote(t, "s3://pgbackup-test/go/auth", settings)
	if e := asError(t, bad.Put("x", []byte("x")), pgbackup.CodeAuth); !strings.Contains(e.Message, "InvalidAccessKeyId") {
		t.Errorf("message %q does not name the S3 error", e.Message)
	}
}

func TestSFTPStorageURL(t *testing.T) {
	dir, port := startServer(t, "sshd")
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	url := "sftp://" + me.Username + "@127.0.0.1:" + strconv.Itoa(port) + dir + "/objects"
	settings := map[string]string{"sftp-key": dir + "/client_key", "sftp-known-hosts": dir + "/known_hosts"}
	exerciseRemote(t, openRemote(t, url, settings))

	empty := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(empty, nil, 0o600)
	opts := newOptions(t)
	opts.Set("sftp-key", dir+"/client_key")
	opts.Set("sftp-known-hosts", empty)
	_, err = pgbackup.OpenStorage(newContext(t), url, opts)
	if e := asError(t, err, pgbackup.CodeAuth); !strings.Contains(e.Message, "SHA256:") {
		t.Errorf("message %q does not show the host key", e.Message)
	}
}
