package pgbackup

/*
#include <pgbackup/probe.h>
*/
import "C"

import (
	"encoding/json"
	"fmt"
)

// ServerInfo holds the facts a backup depends on, decoded from the probe's
// JSON report (format_version 1). A JSON null reads as "" or 0.
type ServerInfo struct {
	FormatVersion              int       `json:"format_version"`
	Host                       string    `json:"host"`
	Port                       string    `json:"port"`
	User                       string    `json:"user"`
	ServerVersion              string    `json:"server_version"`
	ServerVersionNum           int       `json:"server_version_num"`
	SystemIdentifier           string    `json:"system_identifier"` // decimal text; "" when it could not be read
	Timeline                   int       `json:"timeline"`          // 0 when it could not be read
	InRecovery                 bool      `json:"in_recovery"`
	DataChecksums              bool      `json:"data_checksums"`
	WALLevel                   string    `json:"wal_level"`
	ArchiveMode                string    `json:"archive_mode"`
	MaxWALSenders              int       `json:"max_wal_senders"`
	WALSegmentSize             int64     `json:"wal_segment_size"`
	RoleSuperuser              bool      `json:"role_superuser"`
	RoleReplication            bool      `json:"role_replication"`
	RoleCanReplicate           bool      `json:"role_can_replicate"`
	ReplicationConnectionOK    bool      `json:"replication_connection_ok"`
	ReplicationConnectionError string    `json:"replication_connection_error"`
	Archiver                   *Archiver `json:"archiver"` // nil when pg_stat_archiver could not be read
	Problems                   []string  `json:"problems"`

	// JSON is the report as the library wrote it, with any field newer than
	// this binding.
	JSON string `json:"-"`
}

// Archiver is the health of WAL archiving from pg_stat_archiver. Times are
// ISO 8601 with an offset; "" and 0 where the server has none. ReadyCount is
// nil when the role may not list archive_status.
type Archiver struct {
	ArchivedCount            int64  `json:"archived_count"`
	LastArchivedWAL          string `json:"last_archived_wal"`
	LastArchivedTime         string `json:"last_archived_time"`
	SecondsSinceLastArchived int64  `json:"seconds_since_last_archived"`
	FailedCount              int64  `json:"failed_count"`
	LastFailedWAL            string `json:"last_failed_wal"`
	LastFailedTime           string `json:"last_failed_time"`
	Failing                  bool   `json:"failing"`
	ReadyCount               *int64 `json:"ready_count"`
}

// Probe connects to a PostgreSQL server with a fresh Context and reads its
// facts. conninfo is a libpq connection string or URI; "" uses only the PG*
// environment, as psql does. An unreachable or refusing server gives an *Error
// with code CodeConnection whose message names host and port.
func Probe(conninfo string) (*ServerInfo, error) {
	ctx, err := NewContext()
	if err != nil {
		return nil, err
	}
	defer ctx.Close()
	return ctx.Probe(conninfo)
}

// Probe is the package-level Probe on this context.
func (c *Context) Probe(conninfo string) (*ServerInfo, error) {
	cConninfo, err := cString(conninfo, "conninfo")
	if err != nil {
		return nil, err
	}
	defer freeC(cConninfo)
	var report string
	err = c.with(func(ctx *C.pgb_ctx) error {
		var info *C.pgb_server_info
		if err := c.check(C.pgb_pg_probe(&info, ctx, cConninfo)); err != nil {
			return err
		}
		defer C.pgb_server_info_free(info)
		report = C.GoString(C.pgb_server_info_to_json(info))
		return nil
	})
	if err != nil {
		return nil, err
	}
	facts := &ServerInfo{JSON: report}
	if err := json.Unmarshal([]byte(report), facts); err != nil {
		return nil, fmt.Errorf("pgbackup: cannot decode the probe report: %w", err)
	}
	return facts, nil
}
