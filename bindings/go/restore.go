package pgbackup

/*
#include <pgbackup/restore.h>
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"unsafe"
)

// RestorePlan is a physical restore, chosen and checked but not yet run: the
// target folder is empty or absent (or option "delta"), no server runs on it,
// and every tablespace has a free place to go.
//
// A plan keeps its Repo alive and is freed before it: closing the repository
// (or its storage or context) closes the plan.
type RestorePlan struct {
	repo *Repo
	ptr  *C.pgb_restore_plan
	info RestorePlanInfo
}

// RestorePlanInfo is a plan as the library describes it (format_version 1).
type RestorePlanInfo struct {
	FormatVersion    int                 `json:"format_version"`
	Type             string              `json:"type"`
	Backup           string              `json:"backup"` // the chosen backup's id
	Target           string              `json:"target"`
	Delta            bool                `json:"delta"`
	Tablespaces      []RestoreTablespace `json:"tablespaces"`
	Files            int64               `json:"files"`
	Bytes            int64               `json:"bytes"`
	StartLSN         string              `json:"start_lsn"`
	StopLSN          string              `json:"stop_lsn"`
	WAL              RestoreWAL          `json:"wal"` // the backup's own WAL
	Recovery         RestoreRecovery     `json:"recovery"`
	ArchiveMode      string              `json:"archive_mode"`      // "preserve" or "off"
	RestoreCommand   *string             `json:"restore_command"`   // nil when the archive is not read
	EstimatedSeconds int64               `json:"estimated_seconds"` // rough, from nominal rates
	JSON             json.RawMessage     `json:"-"`                 // the plan as the library wrote it
}

// RestoreRecovery is how the restored server recovers: the target, the
// timelines followed and the WAL read from the archive.
type RestoreRecovery struct {
	Target            RecoveryTarget  `json:"target"`
	Mode              string          `json:"mode"`     // "archive-recovery" or "backup-only"
	Timeline          uint32          `json:"timeline"` // the timeline recovery ends on
	TimelinePath      []TimelineStep  `json:"timeline_path"`
	BackupWALSegments int64           `json:"backup_wal_segments"`
	ArchiveWAL        RecoveryArchive `json:"archive_wal"`
	Warnings          []string        `json:"warnings"`
}

// RecoveryTarget is where recovery stops (options "target", "target-time",
// "target-lsn", "target-xid", "target-name", "target-inclusive",
// "target-timeline", "target-action").
type RecoveryTarget struct {
	Kind      string  `json:"kind"` // latest, immediate, time, lsn, xid or name
	Value     *string `json:"value"`
	Inclusive bool    `json:"inclusive"`
	Timeline  string  `json:"timeline"` // latest, current or a number
	Action    string  `json:"action"`   // pause, promote or shutdown
}

// TimelineStep is one timeline of the followed path: its WAL from Begin to End
// (the switch point; nil for the last timeline).
type TimelineStep struct {
	Timeline uint32  `json:"timeline"`
	Begin    string  `json:"begin"`
	End      *string `json:"end"`
}

// RecoveryArchive names the segments recovery reads from the archive, every
// one checked present when the plan was made.
type RecoveryArchive struct {
	First    *string `json:"first"`
	Last     *string `json:"last"`
	Segments int64   `json:"segments"`
	Bytes    int64   `json:"bytes"`
}

// RestoreTablespace says where one tablespace goes.
type RestoreTablespace struct {
	OID  uint32 `json:"oid"`
	From string `json:"from"` // its location when backed up
	To   string `json:"to"`   // where it is restored (option "tablespace-map")
}

// RestoreWAL names the WAL segments restored into pg_wal.
type RestoreWAL struct {
	First string `json:"first"`
	Last  string `json:"last"`
	Count int    `json:"count"`
}

// RestorePlan plans a physical restore. Options: "to" (required), "backup"
// (an id; default the newest physical backup that suits the target), "delta",
// "tablespace-map" (OLD=NEW, OLD an oid or the original location;
// repeatable), "config-to"; for a point in time "target" (latest or
// immediate), "target-time", "target-lsn", "target-xid", "target-name",
// "target-inclusive", "target-timeline", "target-action", "archive-mode",
// "keep-replication", and "program" (the pgbackup program restore_command
// runs; default pgbackup on PATH) with the repository options restore_command
// needs ("repo", "identity" or "passphrase-file").
// opts may belong to another Context. Close the plan when done.
//
// Errors: CodeRefused for a target that is not empty or has a server running
// on it, or a tablespace location in use; CodeNotFound for an unknown backup,
// none that suits the target, or a WAL segment missing from the archive;
// CodeAuth when this handle holds only the writer key; CodeInvalid without
// "to", for bad target options, or when restore_command cannot be built.
func (r *Repo) RestorePlan(opts *Options) (*RestorePlan, error) {
	p := &RestorePlan{repo: r}
	var document string
	err := r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		var ptr *C.pgb_restore_plan
		if err := r.storage.ctx.check(C.pgb_restore_plan_new(&ptr, repo, o)); err != nil {
			return err
		}
		p.ptr = ptr
		document = C.GoString(C.pgb_restore_plan_to_json(ptr))
		r.plans.frees[unsafe.Pointer(ptr)] = func() { C.pgb_restore_plan_free(ptr) }
		return nil
	})
	if err != nil {
		return nil, err
	}
	runtime.SetFinalizer(p, (*RestorePlan).Close)
	if err := json.Unmarshal([]byte(document), &p.info); err != nil {
		p.Close()
		return nil, fmt.Errorf("pgbackup: cannot decode the restore plan: %w", err)
	}
	p.info.JSON = json.RawMessage(document)
	return p, nil
}

// Restore plans a restore and runs it at once (see RestorePlan and Execute),
// and returns what the plan said.
func (r *Repo) Restore(opts *Options) (*RestorePlanInfo, error) {
	p, err := r.RestorePlan(opts)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	if err := p.Execute(); err != nil {
		return nil, err
	}
	info := p.Info()
	return &info, nil
}

// BackupID is the id of the backup the plan restores.
func (p *RestorePlan) BackupID() string { return p.info.Backup }

// Info describes the plan: backup, target, tablespaces, size, WAL.
func (p *RestorePlan) Info() RestorePlanInfo { return p.info }

// Execute runs the plan: the files (each checked against its SHA-256), the
// backup's WAL into pg_wal, its backup_manifest, pg_tblspc links to the
// tablespaces' locations, and configuration files kept outside the data
// directory; global/pg_control last, so a failed restore never starts.
//
// Errors: CodeCorrupt naming damaged content, CodeIO, CodeRefused when a
// server started on the target since the plan was made.
func (p *RestorePlan) Execute() error {
	return p.repo.with(func(*C.pgb_repo) error {
		if p.ptr == nil {
			return newError(CodeInvalid, "the restore plan is closed", "")
		}
		return p.repo.storage.ctx.check(C.pgb_restore_plan_execute(p.ptr))
	})
}

// Close frees the plan. Calling it again does nothing.
func (p *RestorePlan) Close() {
	ctx := p.repo.storage.ctx
	ctx.mu.Lock()
	defer ctx.mu.Unlock()
	if p.ptr == nil {
		return
	}
	p.repo.plans.release(unsafe.Pointer(p.ptr))
	p.ptr = nil
	runtime.SetFinalizer(p, nil)
}
