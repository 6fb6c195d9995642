package pgbackup_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

func headerDefine(t *testing.T, name string) string {
	t.Helper()
	header, err := os.ReadFile(filepath.Join("..", "..", "include", "pgbackup", "version.h"))
	if err != nil {
		t.Fatal(err)
	}
	match := regexp.MustCompile(`#define ` + name + ` "?([^"\s]+)"?`).FindSubmatch(header)
	if match == nil {
		t.Fatalf("%s not found in version.h", name)
	}
	return string(match[1])
}

func TestVersionMatchesHeader(t *testing.T) {
	if got, want := pgbackup.Version(), headerDefine(t, "PGB_VERSION_STRING"); got != want {
		t.Errorf("Version() = %q, version.h says %q", got, want)
	}
}

func TestVersionNumberMatchesHeader(t *testing.T) {
	want, err := strconv.Atoi(headerDefine(t, "PGB_VERSION_NUMBER"))
	if err != nil {
		t.Fatal(err)
	}
	if got := pgbackup.VersionNumber(); got != want {
		t.Errorf("VersionNumber() = %d, version.h says %d", got, want)
	}
}
