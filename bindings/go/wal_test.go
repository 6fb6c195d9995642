package pgbackup_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

const segmentSize = 16 * 1024 * 1024

// fakeSegment is a segment as PostgreSQL 15 writes it: a long page header at
// the position of segment segno, then bytes that depend on seed. It returns
// the segment's name and content.
func fakeSegment(segno uint64, seed uint32) (string, []byte) {
	data := make([]byte, segmentSize)
	state := seed*2654435761 + 1
	for i := range data {
		state = state*1103515245 + 12345
		if i%3 != 0 { // compressible, not constant
			data[i] = byte(state >> 16)
		}
	}
	le := binary.LittleEndian
	le.PutUint16(data[0:], 0xD110)               // xlp_magic: PostgreSQL 15
	le.PutUint16(data[2:], 0x0002)               // xlp_info: XLP_LONG_HEADER
	le.PutUint32(data[4:], 1)                    // xlp_tli
	le.PutUint64(data[8:], segno*segmentSize)    // xlp_pageaddr
	le.PutUint32(data[16:], 0)                   // xlp_rem_len
	le.PutUint64(data[24:], 7300000000000000001) // xlp_sysid
	le.PutUint32(data[32:], segmentSize)         // xlp_seg_size
	le.PutUint32(data[36:], 8192)                // xlp_xlog_blcksz
	perID := uint64(0x100000000 / segmentSize)
	return fmt.Sprintf("%08X%08X%08X", 1, segno/perID, segno%perID), data
}

// writeSegment writes a fake segment into a folder of its own and returns its name, path and content.
func writeSegment(t *testing.T, segno uint64, seed uint32) (string, string, []byte) {
	t.Helper()
	name, data := fakeSegment(segno, seed)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return name, path, data
}

func mustFetchEqual(t *testing.T, repo *pgbackup.Repo, name string, want []byte) {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	if err := repo.WALFetch(name, dest); err != nil {
		t.Fatalf("WALFetch(%q): %v", name, err)
	}
	got, err := os.ReadFile(dest)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("fetched %d bytes (%v), not the %d bytes pushed", len(got), err, len(want))
	}
}

func TestWALPushThenFetchGivesTheSameBytes(t *testing.T) {
	repo := mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	name, path, data := writeSegment(t, 3, 1)
	if name != "000000010000000000000003" {
		t.Fatalf("name = %q", name)
	}
	if err := repo.WALPush(path, nil); err != nil {
		t.Fatalf("WALPush: %v", err)
	}
	if err := repo.WALPush(path, nil); err != nil { // identical content again: fine
		t.Fatalf("WALPush again: %v", err)
	}
	mustFetchEqual(t, repo, name, data)
}

func TestWALPushOfDifferentContentUnderTheSameNameIsRefused(t *testing.T) {
	repo := mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	name, first, data := writeSegment(t, 3, 1)
	if err := repo.WALPush(first, nil); err != nil {
		t.Fatalf("WALPush: %v", err)
	}
	_, second, _ := writeSegment(t, 3, 2)
	e := asError(t, repo.WALPush(second, nil), -5)
	if e.Name != "PGB_EEXISTS" {
		t.Errorf("Name = %q", e.Name)
	}
	mustFetchEqual(t, repo, name, data) // the archived copy is kept
}

func TestWALPushWithOptions(t *testing.T) {
	repo := mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	name, path, data := writeSegment(t, 4, 3)
	if err := repo.WALPush(path, options(t, "compress", "zstd:1")); err != nil {
		t.Fatalf("WALPush: %v", err)
	}
	if err := repo.WALPush(path, options(t, "compress", "zstd:9")); err != nil {
		t.Fatalf("WALPush of identical content, other compression: %v", err)
	}
	mustFetchEqual(t, repo, name, data)
}

func TestWALFetchOfAFileNeverArchived(t *testing.T) {
	repo := mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	e := asError(t, repo.WALFetch("000000010000000000000009", dest), -4)
	if e.Name != "PGB_ENOTFOUND" {
		t.Errorf("Name = %q", e.Name)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("the destination exists after a failed fetch: %v", err)
	}
}

func TestWALPushRefusesASegmentAtTheWrongPosition(t *testing.T) {
	repo := mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	_, data := fakeSegment(3, 1)
	path := filepath.Join(t.TempDir(), "000000010000000000000005") // its header says segment 3
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	asError(t, repo.WALPush(path, nil), -6)
}

func TestWALPushWithJobsPushesTheReadySegmentsAhead(t *testing.T) {
	dir := t.TempDir()
	repo := mustInit(t, openStorage(t, newContext(t), filepath.Join(dir, "repo")), nil)
	pgWAL := filepath.Join(dir, "pg_wal")
	if err := os.MkdirAll(filepath.Join(pgWAL, "archive_status"), 0o700); err != nil {
		t.Fatal(err)
	}
	var names []string
	var contents [][]byte
	for segno := uint64(3); segno <= 5; segno++ {
		name, data := fakeSegment(segno, uint32(segno))
		if err := os.WriteFile(filepath.Join(pgWAL, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pgWAL, "archive_status", name+".ready"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		names, contents = append(names, name), append(contents, data)
	}
	if err := repo.WALPush(filepath.Join(pgWAL, names[0]), options(t, "jobs", "2")); err != nil {
		t.Fatalf("WALPush: %v", err)
	}
	for _, name := range names[1:] {
		if _, err := os.Stat(filepath.Join(pgWAL, "pgbackup.spool", name+".pushed")); err != nil {
			t.Errorf("no push-ahead marker for %s: %v", name, err)
		}
	}
	// The call for a segment pushed ahead needs no repository at all.
	if err := os.Rename(filepath.Join(dir, "repo"), filepath.Join(dir, "repo.away")); err != nil {
		t.Fatal(err)
	}
	if err := repo.WALPush(filepath.Join(pgWAL, names[1]), nil); err != nil {
		t.Fatalf("WALPush of a segment pushed ahead, repository away: %v", err)
	}
	if err := os.Rename(filepath.Join(dir, "repo.away"), filepath.Join(dir, "repo")); err != nil {
		t.Fatal(err)
	}
	mustFetchEqual(t, repo, names[2], contents[2])
}

func TestWALFetchWithPrefetchServesFromTheSpool(t *testing.T) {
	dir := t.TempDir()
	repo := mustInit(t, openStorage(t, newContext(t), filepath.Join(dir, "repo")), nil)
	var names []string
	var contents [][]byte
	for segno := uint64(6); segno <= 9; segno++ {
		name, path, data := writeSegment(t, segno, uint32(segno))
		if err := repo.WALPush(path, nil); err != nil {
			t.Fatalf("WALPush: %v", err)
		}
		names, contents = append(names, name), append(contents, data)
	}
	pgWAL := filepath.Join(dir, "pg_wal")
	if err := os.Mkdir(pgWAL, 0o700); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(pgWAL, "RECOVERYXLOG")
	if err := repo.WALFetchWithOptions(names[0], dest, options(t, "prefetch", "2")); err != nil {
		t.Fatalf("WALFetchWithOptions: %v", err)
	}
	spool := filepath.Join(pgWAL, "pgbackup.spool")
	for i := 1; i <= 2; i++ {
		got, err := os.ReadFile(filepath.Join(spool, names[i]+".segment"))
		if err != nil || !bytes.Equal(got, contents[i]) {
			t.Fatalf("spooled %s: %d bytes (%v), not the %d archived", names[i], len(got), err, len(contents[i]))
		}
	}
	if _, err := os.Stat(filepath.Join(spool, names[3]+".segment")); !os.IsNotExist(err) {
		t.Errorf("%s was prefetched beyond the count: %v", names[3], err)
	}
	// Served from the spool, byte for byte, with the repository out of reach.
	if err := os.Rename(filepath.Join(dir, "repo"), filepath.Join(dir, "repo.away")); err != nil {
		t.Fatal(err)
	}
	if err := repo.WALFetchWithOptions(names[1], dest, nil); err != nil {
		t.Fatalf("fetch of a prefetched segment, repository away: %v", err)
	}
	if got, err := os.ReadFile(dest); err != nil || !bytes.Equal(got, contents[1]) {
		t.Fatalf("served %d bytes (%v), not the %d archived", len(got), err, len(contents[1]))
	}
	if err := repo.WALFetch(names[3], dest); err == nil {
		t.Errorf("a segment never prefetched was served with the repository away")
	}
	if err := os.Rename(filepath.Join(dir, "repo.away"), filepath.Join(dir, "repo")); err != nil {
		t.Fatal(err)
	}
}
