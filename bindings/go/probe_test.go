package pgbackup_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

func TestProbeReportsWhatPsqlSees(t *testing.T) {
	info, err := pgbackup.Probe(requireServer(t))
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if want := psql(t, "SHOW wal_level"); info.WALLevel != want || want != "logical" {
		t.Errorf("WALLevel = %q, psql says %q (the fixture sets logical)", info.WALLevel, want)
	}
	if psql(t, "SHOW data_checksums") != "on" || !info.DataChecksums {
		t.Errorf("DataChecksums = %v, want true as psql reports (initdb --data-checksums)", info.DataChecksums)
	}
	if want := psql(t, "SELECT system_identifier FROM pg_control_system()"); info.SystemIdentifier != want {
		t.Errorf("SystemIdentifier = %q, psql says %q", info.SystemIdentifier, want)
	}
	want, _ := strconv.Atoi(psql(t, "SHOW server_version_num"))
	if info.ServerVersionNum != want {
		t.Errorf("ServerVersionNum = %d, psql says %d", info.ServerVersionNum, want)
	}
	if info.FormatVersion != 1 || info.InRecovery || !info.RoleCanReplicate || info.User != "postgres" {
		t.Errorf("unexpected facts: %+v", info)
	}
}

// Every key of the JSON document has a field: decoding into ServerInfo and
// back loses nothing.
func TestServerInfoHasAFieldForEveryKey(t *testing.T) {
	info, err := pgbackup.Probe(requireServer(t))
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	var document map[string]any
	if err := json.Unmarshal([]byte(info.JSON), &document); err != nil {
		t.Fatal(err)
	}
	encoded, _ := json.Marshal(info)
	var fields map[string]any
	json.Unmarshal(encoded, &fields)
	for key := range document {
		if _, ok := fields[key]; !ok {
			t.Errorf("JSON key %q has no ServerInfo field", key)
		}
	}
}

func TestProbeOfAClosedPortIsAConnectionError(t *testing.T) {
	_, err := pgbackup.Probe("host=127.0.0.1 port=1 connect_timeout=10")
	e := asError(t, err, -7)
	if e.Name != "PGB_ECONNECTION" || !strings.Contains(e.Message, "port=1") || e.Detail == "" {
		t.Errorf("got %s %q (detail %q), want PGB_ECONNECTION naming port=1 with libpq's detail",
			e.Name, e.Message, e.Detail)
	}
}
