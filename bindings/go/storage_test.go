package pgbackup_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

func openStorage(t *testing.T, ctx *pgbackup.Context, url string) *pgbackup.Storage {
	t.Helper()
	s, err := pgbackup.OpenStorage(ctx, url, nil)
	if err != nil {
		t.Fatalf("OpenStorage(%q): %v", url, err)
	}
	t.Cleanup(s.Close)
	return s
}

func mustPut(t *testing.T, s *pgbackup.Storage, key string, data []byte) {
	t.Helper()
	if err := s.Put(key, data); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func TestStoragePutGetRoundTripsRandomBytes(t *testing.T) {
	dir := t.TempDir()
	s := openStorage(t, newContext(t), filepath.Join(dir, "store"))
	data := make([]byte, 300000) // several of the library's read buffers
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	data = append(data, 0, 't', 'a', 'i', 'l')
	mustPut(t, s, "data/blob", data)
	got, err := s.Get("data/blob")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("Get returned %d bytes that differ from the %d put", len(got), len(data))
	}
	size, err := s.Stat("data/blob")
	if err != nil || size != int64(len(data)) {
		t.Errorf("Stat = %d, %v; want %d", size, err, len(data))
	}
	// A real file under the folder, and another storage on the same URL reads it.
	onDisk, err := os.ReadFile(filepath.Join(dir, "store", "data", "blob"))
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Errorf("the file on disk does not hold the data (%v)", err)
	}
	again := openStorage(t, newContext(t), "file://"+filepath.Join(dir, "store"))
	if got, err := again.Get("data/blob"); err != nil || !bytes.Equal(got, data) {
		t.Errorf("a second storage reads %d bytes, %v", len(got), err)
	}
}

func TestStorageEmptyObjectRoundTrips(t *testing.T) {
	s := openStorage(t, newContext(t), t.TempDir())
	mustPut(t, s, "empty", nil)
	got, err := s.Get("empty")
	if err != nil || len(got) != 0 {
		t.Errorf("Get = %q, %v; want no bytes", got, err)
	}
}

func TestStorageMissingKeyIsNotFoundAndNamed(t *testing.T) {
	s := openStorage(t, newContext(t), t.TempDir())
	_, err := s.Get("wal/absent-segment")
	e := asError(t, err, -4)
	if e.Name != "PGB_ENOTFOUND" || !strings.Contains(e.Message, "wal/absent-segment") {
		t.Errorf("got %s %q, want PGB_ENOTFOUND naming the key", e.Name, e.Message)
	}
	_, err = s.Stat("wal/absent-segment")
	if e := asError(t, err, pgbackup.CodeNotFound); !strings.Contains(e.Message, "wal/absent-segment") {
		t.Errorf("Stat message %q does not name the key", e.Message)
	}
}

func TestStoragePutNewRefusesAnExistingKey(t *testing.T) {
	s := openStorage(t, newContext(t), t.TempDir())
	mustPut(t, s, "k", []byte("first"))
	mustPut(t, s, "k", []byte("second"))
	asError(t, s.PutNew("k", []byte("third")), pgbackup.CodeExists)
	if got, _ := s.Get("k"); string(got) != "second" {
		t.Errorf("k = %q, want it unchanged", got)
	}
	if err := s.PutNew("fresh", []byte("x")); err != nil {
		t.Errorf("PutNew of a new key: %v", err)
	}
}

func TestStorageListGivesExactlyTheKeysUnderAPrefix(t *testing.T) {
	s := openStorage(t, newContext(t), t.TempDir())
	for key, data := range map[string]string{"a/1": "x", "a/2": "yy", "a/sub/3": "zzz", "b/1": "q", "ab": "not under a/"} {
		mustPut(t, s, key, []byte(data))
	}
	got, err := s.List("a/")
	if err != nil {
		t.Fatal(err)
	}
	want := []pgbackup.StorageObject{{Key: "a/1", Size: 1}, {Key: "a/2", Size: 2}, {Key: "a/sub/3", Size: 3}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List(a/) = %v, want %v", got, want)
	}
	all, err := s.List("")
	if err != nil || len(all) != 5 {
		t.Errorf("List() = %v, %v; want 5 objects", all, err)
	}
	none, err := s.List("c/")
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("List(c/) = %#v, %v; want an empty slice", none, err)
	}
}

func TestStorageRemove(t *testing.T) {
	s := openStorage(t, newContext(t), t.TempDir())
	mustPut(t, s, "gone/soon", []byte("data"))
	mustPut(t, s, "gone/stays", []byte("data"))
	if err := s.Remove("gone/soon"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Stat("gone/soon")
	asError(t, err, pgbackup.CodeNotFound)
	if got, _ := s.List("gone/"); !reflect.DeepEqual(got, []pgbackup.StorageObject{{Key: "gone/stays", Size: 4}}) {
		t.Errorf("List after Remove = %v", got)
	}
	if err := s.Remove("gone/soon"); err != nil {
		t.Errorf("removing an absent key: %v, want no error", err)
	}
}

func TestStorageRefusesBadKeysAndSchemes(t *testing.T) {
	s := openStorage(t, newContext(t), t.TempDir())
	for _, key := range []string{"../escape", "a//b", ".hidden", "", "nul\x00inside"} {
		asError(t, s.Put(key, []byte("x")), pgbackup.CodeInvalid)
	}
	_, err := pgbackup.OpenStorage(newContext(t), "gs://bucket/path", nil)
	if e := asError(t, err, pgbackup.CodeUnsupported); !strings.Contains(e.Message, "gs") {
		t.Errorf("message %q does not name the scheme", e.Message)
	}
}

func TestStorageNameIsTheURL(t *testing.T) {
	url := "file://" + t.TempDir()
	if got := openStorage(t, newContext(t), url).Name(); got != url {
		t.Errorf("Name() = %q, want %q", got, url)
	}
}

func TestClosingTheContextClosesTheStorage(t *testing.T) {
	ctx, err := pgbackup.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	s, err := pgbackup.OpenStorage(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "k", []byte("v"))
	ctx.Close()
	_, err = s.Get("k")
	if e := asError(t, err, pgbackup.CodeInvalid); !strings.Contains(e.Message, "closed") {
		t.Errorf("message %q should say closed", e.Message)
	}
	s.Close() // after its context: must not free anything twice
	s.Close()
}
