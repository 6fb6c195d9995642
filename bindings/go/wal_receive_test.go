package pgbackup_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

const goReceiveSlot = "pgbackup_go_receive"

func parseLSN(t *testing.T, text string) pgbackup.LSN {
	t.Helper()
	var high, low uint64
	if _, err := fmt.Sscanf(strings.TrimSpace(text), "%X/%X", &high, &low); err != nil {
		t.Fatalf("not an LSN: %q", text)
	}
	return pgbackup.LSN(high<<32 | low)
}

func waitFor(t *testing.T, what string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestLSNPrintsAsPostgreSQLDoes(t *testing.T) {
	if got := pgbackup.LSN(0x16B374D848).String(); got != "16/B374D848" {
		t.Fatalf("LSN.String() = %q", got)
	}
}

func TestWALReceiverArchivesTheServersWAL(t *testing.T) {
	conninfo := requireBackupServer(t)
	query := func(sql string) string { return strings.TrimSpace(psqlOn(t, conninfo, sql)) }
	dir := t.TempDir()
	repo := mustInit(t, openStorage(t, newContext(t), dir), options(t, "cluster", "go-receive"))
	receiver, err := repo.NewWALReceiver(options(t, "pg", conninfo, "partial-interval", "0"))
	if err != nil {
		t.Fatalf("NewWALReceiver: %v", err)
	}
	defer receiver.Close()
	if receiver.Slot() != goReceiveSlot {
		t.Fatalf("Slot() = %q", receiver.Slot())
	}
	defer func() { // the slot is permanent: leave none holding WAL on the shared server
		waitFor(t, "the slot to be free", func() bool {
			return query("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '"+goReceiveSlot+
				"' AND active") == "0"
		})
		query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + goReceiveSlot + "'")
	}()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- receiver.Run(ctx) }()
	waitFor(t, "the receiver to stream", func() bool {
		return query("SELECT count(*) FROM pg_stat_replication WHERE application_name = '"+goReceiveSlot+
			"' AND state = 'streaming'") == "1"
	})
	query("CREATE TABLE go_receive AS SELECT g AS id FROM generate_series(1, 50000) g")
	switched := query("SELECT pg_walfile_name(pg_switch_wal())")
	query("INSERT INTO go_receive VALUES (0)")
	end := parseLSN(t, query("SELECT pg_current_wal_flush_lsn()"))
	waitFor(t, "the receiver to archive the last insert", func() bool { return receiver.FlushedLSN() >= end })
	if receiver.ReceivedLSN() < end || receiver.Timeline() != 1 {
		t.Fatalf("received %v on timeline %d, want %v on 1", receiver.ReceivedLSN(), receiver.Timeline(), end)
	}

	// Read through a second repository handle while the receiver runs.
	dataDir := query("SHOW data_directory")
	want, err := os.ReadFile(filepath.Join(dataDir, "pg_wal", switched))
	if err != nil {
		t.Fatal(err)
	}
	reader := mustOpen(t, openStorage(t, newContext(t), dir), options(t, "cluster", "go-receive"))
	mustFetchEqual(t, reader, switched, want)
	current := query(fmt.Sprintf("SELECT pg_walfile_name('%s')", end))
	partial := filepath.Join(t.TempDir(), "partial")
	if err := reader.WALFetch(current, partial); err != nil { // served from its partial
		t.Fatalf("WALFetch(%s): %v", current, err)
	}
	got, _ := os.ReadFile(partial)
	held := int(uint64(end) % segmentSize)
	server, _ := os.ReadFile(filepath.Join(dataDir, "pg_wal", current))
	if len(got) != segmentSize || len(server) < held || !bytes.Equal(got[:held], server[:held]) {
		t.Fatalf("the partial of %s is not the server's WAL up to %v", current, end)
	}

	cancel() // a done context stops the receiver cleanly
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after its context was canceled")
	}
	asError(t, receiver.Run(context.Background()), pgbackup.CodeInvalid) // a receiver runs once
}

func TestWALReceiverStoppedBeforeRunReturnsAtOnce(t *testing.T) {
	repo := mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	receiver, err := repo.NewWALReceiver(options(t, "pg", "host=127.0.0.1 port=1"))
	if err != nil {
		t.Fatalf("NewWALReceiver: %v", err)
	}
	receiver.Stop()
	if err := receiver.Run(context.Background()); err != nil {
		t.Fatalf("Run after Stop: %v", err)
	}
	receiver.Close()
	receiver.Close() // again: nothing happens
	if receiver.ReceivedLSN() != 0 {
		t.Fatal("a closed receiver reports a position")
	}
}

func TestWALReceiverFailsWhenTheServerCannotBeReached(t *testing.T) {
	repo := mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	receiver, err := repo.NewWALReceiver(options(t, "pg", "host=127.0.0.1 port=1 connect_timeout=5"))
	if err != nil {
		t.Fatalf("NewWALReceiver: %v", err)
	}
	defer receiver.Close()
	asError(t, receiver.Run(context.Background()), pgbackup.CodeConnection)
}

func TestWALReceiverRefusesABadSlotName(t *testing.T) {
	repo := mustInit(t, openStorage(t, newContext(t), t.TempDir()), nil)
	_, err := repo.NewWALReceiver(options(t, "slot", "Bad-Name"))
	e := asError(t, err, pgbackup.CodeInvalid)
	if !strings.Contains(e.Message, "cannot name a replication slot") {
		t.Fatalf("message: %s", e.Message)
	}
}
