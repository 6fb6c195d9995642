package pgbackup_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

func TestOptionNamesListTheRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range pgbackup.OptionNames() {
		if seen[name] {
			t.Errorf("option %q listed twice", name)
		}
		seen[name] = true
	}
	for _, name := range []string{"compress", "jobs", "repo", "log-level", "recipient"} {
		if !seen[name] {
			t.Errorf("option %q missing from OptionNames()", name)
		}
	}
}

func TestDefaultsComeFromTheRegistry(t *testing.T) {
	opts := newOptions(t)
	if got := mustGet(t, opts, "compress"); got != "zstd:3" {
		t.Errorf("compress = %q, want the default zstd:3", got)
	}
	if got := mustGet(t, opts, "repo"); got != "" {
		t.Errorf("repo = %q, want unset", got)
	}
	if got := mustSource(t, opts, "compress"); got != pgbackup.SourceDefault {
		t.Errorf("source = %v, want default", got)
	}
}

func TestSetValueIsReadBackAsExplicit(t *testing.T) {
	opts := newOptions(t)
	if err := opts.Set("compress", "lz4:5"); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, opts, "compress"); got != "lz4:5" {
		t.Errorf("compress = %q, want lz4:5", got)
	}
	if got := mustSource(t, opts, "compress"); got != pgbackup.SourceExplicit {
		t.Errorf("source = %v, want explicit", got)
	}
}

func TestUnknownOptionSuggestsTheClosestName(t *testing.T) {
	err := newOptions(t).Set("compres", "zstd")
	e := asError(t, err, -3)
	if e.Name != "PGB_EINVALID" || !strings.Contains(e.Message, "'compress'") {
		t.Errorf("got %s %q, want PGB_EINVALID suggesting 'compress'", e.Name, e.Message)
	}
	if err.Error() != e.Message {
		t.Errorf("Error() = %q, want the message", err.Error())
	}
}

func TestBadValueIsRejectedAndKeepsTheOldValue(t *testing.T) {
	opts := newOptions(t)
	if err := opts.Set("jobs", "4"); err != nil {
		t.Fatal(err)
	}
	e := asError(t, opts.Set("jobs", "0"), pgbackup.CodeInvalid)
	if !strings.Contains(e.Message, "jobs") {
		t.Errorf("message %q does not name the option", e.Message)
	}
	if got := mustGet(t, opts, "jobs"); got != "4" {
		t.Errorf("jobs = %q after a rejected value, want 4", got)
	}
	e = asError(t, opts.Set("compress", "zstd:99"), -3)
	if !strings.Contains(e.Message, "1 to 22") {
		t.Errorf("message %q does not give zstd's level range", e.Message)
	}
}

func TestSetBeatsEnvironmentWhateverTheOrder(t *testing.T) {
	opts := newOptions(t)
	if err := opts.Set("compress", "gzip:6"); err != nil {
		t.Fatal(err)
	}
	if err := opts.LoadEnv(map[string]string{"PGBACKUP_COMPRESS": "lz4", "PGBACKUP_JOBS": "3"}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, opts, "compress"); got != "gzip:6" {
		t.Errorf("compress = %q, want the explicit gzip:6", got)
	}
	if got := mustGet(t, opts, "jobs"); got != "3" {
		t.Errorf("jobs = %q, want 3 from the environment", got)
	}
	if got := mustSource(t, opts, "jobs"); got != pgbackup.SourceEnvironment {
		t.Errorf("jobs source = %v, want environment", got)
	}
}

func TestEnvironmentBeatsFile(t *testing.T) {
	opts := newOptions(t)
	config := filepath.Join(t.TempDir(), "pgbackup.conf")
	if err := os.WriteFile(config, []byte("[global]\ncompress = gzip:1\ncluster = from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := opts.LoadFile(config); err != nil {
		t.Fatal(err)
	}
	if err := opts.LoadEnv(map[string]string{"PGBACKUP_COMPRESS": "none"}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, opts, "compress"); got != "none" {
		t.Errorf("compress = %q, want none from the environment", got)
	}
	if got := mustGet(t, opts, "cluster"); got != "from-file" {
		t.Errorf("cluster = %q, want from-file", got)
	}
	if got := mustSource(t, opts, "cluster"); got != pgbackup.SourceFile {
		t.Errorf("cluster source = %v, want file", got)
	}
}

func TestUnknownEnvironmentVariableIsNamed(t *testing.T) {
	err := newOptions(t).LoadEnv(map[string]string{"PGBACKUP_COMPRES": "lz4"})
	e := asError(t, err, -3)
	if !strings.Contains(e.Message, "PGBACKUP_COMPRES") || !strings.Contains(e.Message, "'compress'") {
		t.Errorf("message %q should name the variable and suggest 'compress'", e.Message)
	}
}

func TestProcessEnvironmentIsReadAndLibraryVariablePassedOver(t *testing.T) {
	t.Setenv("PGBACKUP_LIBRARY", "/not/an/option.so")
	t.Setenv("PGBACKUP_LOG_LEVEL", "debug")
	opts := newOptions(t)
	if err := opts.LoadEnv(nil); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, opts, "log-level"); got != "debug" {
		t.Errorf("log-level = %q, want debug from the process environment", got)
	}
}

func TestFileErrorNamesFileAndLine(t *testing.T) {
	config := filepath.Join(t.TempDir(), "bad.conf")
	if err := os.WriteFile(config, []byte("jobs = 2\njobs = many\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := asError(t, newOptions(t).LoadFile(config), -3)
	if !strings.Contains(e.Message, config+":2") {
		t.Errorf("message %q should name %s:2", e.Message, config)
	}
	missing := filepath.Join(t.TempDir(), "absent.conf")
	asError(t, newOptions(t).LoadFile(missing), pgbackup.CodeNotFound)
}

func TestUnsetRestoresTheDefault(t *testing.T) {
	opts := newOptions(t)
	if err := opts.Set("cluster", "other"); err != nil {
		t.Fatal(err)
	}
	if err := opts.Unset("cluster"); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, opts, "cluster"); got != "main" {
		t.Errorf("cluster = %q after Unset, want the default main", got)
	}
}

func TestListOptionKeepsEveryValueInOrder(t *testing.T) {
	opts := newOptions(t)
	for _, key := range []string{"/keys/a.pub", "/keys/b.pub"} {
		if err := opts.Set("recipient", key); err != nil {
			t.Fatal(err)
		}
	}
	got, err := opts.GetAll("recipient")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/keys/a.pub", "/keys/b.pub"}; !reflect.DeepEqual(got, want) {
		t.Errorf("GetAll = %q, want %q", got, want)
	}
}

func TestNulInValueIsRefusedBeforeReachingC(t *testing.T) {
	opts := newOptions(t)
	asError(t, opts.Set("cluster", "a\x00b"), pgbackup.CodeInvalid)
	if got := mustGet(t, opts, "cluster"); got != "main" {
		t.Errorf("cluster = %q, want it untouched", got)
	}
}
