package pgbackup

/*
#include <stdlib.h>
#include <pgbackup/logical.h>
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"unsafe"
)

// LogicalRestore is a logical or globals restore, planned and checked but not
// yet run: the backup and database exist, the target database exists or not
// as asked, the client programs are there and new enough, and the selected
// tables are in the backup and (without "clean") not in the target.
//
// A plan keeps its Repo alive and is freed before it: closing the repository
// (or its storage or context) closes the plan.
type LogicalRestore struct {
	repo *Repo
	ptr  *C.pgb_logical_restore
	info LogicalRestoreInfo
}

// LogicalRestoreInfo is a logical restore as the library describes it
// (format_version 1): the plan, and after Execute what it did.
type LogicalRestoreInfo struct {
	FormatVersion int             `json:"format_version"`
	Type          string          `json:"type"` // "logical" or "globals"
	Backup        string          `json:"backup"`
	Database      string          `json:"database"`  // the backup's database
	TargetDB      string          `json:"target_db"` // where it is restored
	Create        bool            `json:"create"`
	Clean         bool            `json:"clean"`
	Jobs          int             `json:"jobs"`
	Analyze       bool            `json:"analyze"`
	Mode          string          `json:"mode"`  // "whole" or "selective"
	Input         string          `json:"input"` // "stream", "file" or "partial-file"
	DumpSize      int64           `json:"dump_size"`
	Entries       int64           `json:"entries"` // TOC entries restored
	EntriesTotal  int64           `json:"entries_total"`
	Tables        []string        `json:"tables"`
	Schemas       []string        `json:"schemas"`
	Objects       []string        `json:"objects"` // what a selective restore brings back, "TABLE shop.orders"
	Skipped       []SkippedObject `json:"skipped"` // depends on what is restored, left alone
	// After Execute.
	Seconds  float64         `json:"seconds"`
	Analyzed json.RawMessage `json:"analyzed"` // "database", the tables analyzed, or null
	// Globals restores, after Execute.
	Statements          int             `json:"statements"`
	RolesExisting       []string        `json:"roles_existing"`
	TablespacesExisting []string        `json:"tablespaces_existing"`
	Errors              []GlobalsError  `json:"errors"`
	JSON                json.RawMessage `json:"-"` // the document as the library wrote it
}

// SkippedObject is an object a selective restore left alone, and why.
type SkippedObject struct {
	Object string `json:"object"`
	Reason string `json:"reason"`
}

// GlobalsError is a statement of a globals restore that failed.
type GlobalsError struct {
	Statement string `json:"statement"`
	Error     string `json:"error"`
}

// LogicalRestore plans a logical restore (type "logical", the default) or a
// globals restore (type "globals"). Options: "pg" (the target server),
// "backup" (default: the newest backup of the type), "pg-bindir", and for
// logical restores "db" (the backup's database; may be left out when it holds
// one), "target-db", "create" (make the database with the recorded encoding,
// locale, owner, grants, comment and settings), "clean", "table" and "schema"
// (repeatable: a selective restore, each table whole with what a DROP CASCADE
// of it removed), "jobs", "analyze" (default true). opts may belong to another
// Context. Close the plan when done.
//
// Errors: CodeNotFound for an unknown backup, database, table or schema, or
// missing client programs; CodeRefused for a target database that exists
// (with "create" but without "clean") or a selected table that exists there;
// CodeUnsupported for client programs older than the server; CodeInvalid for
// bad options or a backup of another type.
func (r *Repo) LogicalRestore(opts *Options) (*LogicalRestore, error) {
	p := &LogicalRestore{repo: r}
	var document string
	err := r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		var ptr *C.pgb_logical_restore
		if err := r.storage.ctx.check(C.pgb_logical_restore_new(&ptr, repo, o)); err != nil {
			return err
		}
		p.ptr = ptr
		document = C.GoString(C.pgb_logical_restore_to_json(ptr))
		r.plans.frees[unsafe.Pointer(ptr)] = func() { C.pgb_logical_restore_free(ptr) }
		return nil
	})
	if err != nil {
		return nil, err
	}
	runtime.SetFinalizer(p, (*LogicalRestore).Close)
	if err := p.decode(document); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *LogicalRestore) decode(document string) error {
	info := LogicalRestoreInfo{}
	if err := json.Unmarshal([]byte(document), &info); err != nil {
		return fmt.Errorf("pgbackup: cannot decode the logical restore: %w", err)
	}
	info.JSON = json.RawMessage(document)
	p.info = info
	return nil
}

// Info describes the plan (after Execute: what it did).
func (p *LogicalRestore) Info() LogicalRestoreInfo { return p.info }

// BackupID is the id of the backup the plan restores.
func (p *LogicalRestore) BackupID() string { return p.info.Backup }

// Execute runs the restore and returns what it did. A logical restore creates
// the database if asked, runs pg_restore (in one transaction with one job: a
// failure changes nothing; with "create" a failure drops the database it
// made) and ANALYZE; a globals restore replays every statement, altering
// roles that exist. Errors: CodeError with pg_restore's messages or the
// failed statements, CodeCorrupt for damaged content.
func (p *LogicalRestore) Execute() (*LogicalRestoreInfo, error) {
	var document string
	err := p.repo.with(func(*C.pgb_repo) error {
		if p.ptr == nil {
			return newError(CodeInvalid, "the logical restore is closed", "")
		}
		status := C.pgb_logical_restore_execute(p.ptr)
		document = C.GoString(C.pgb_logical_restore_to_json(p.ptr))
		return p.repo.storage.ctx.check(status)
	})
	if document != "" {
		if decodeErr := p.decode(document); decodeErr != nil && err == nil {
			err = decodeErr
		}
	}
	if err != nil {
		return nil, err
	}
	info := p.info
	return &info, nil
}

// Close frees the plan. Calling it again does nothing.
func (p *LogicalRestore) Close() {
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

// BackupContents are the objects of a logical backup, read from the tables of
// contents stored with it (format_version 1).
type BackupContents struct {
	FormatVersion int                `json:"format_version"`
	Backup        string             `json:"backup"`
	Databases     []ContentsDatabase `json:"databases"`
}

// ContentsDatabase is one database of a logical backup and its objects.
type ContentsDatabase struct {
	Name    string           `json:"name"`
	Objects []ContentsObject `json:"objects"`
}

// ContentsObject is one entry of an archive's table of contents.
type ContentsObject struct {
	ID        int    `json:"id"`     // dump id
	Kind      string `json:"kind"`   // "TABLE", "INDEX", "FUNCTION", "TABLE DATA"
	Schema    string `json:"schema"` // "" for none
	Name      string `json:"name"`
	Owner     string `json:"owner"`
	DependsOn []int  `json:"depends_on"` // dump ids
}

// BackupContents lists the objects of logical backup id without reading its
// dumps. opts may name databases ("db", repeatable) to list, or be nil.
// Errors: CodeNotFound for an unknown backup or database, CodeInvalid for a
// backup that is not logical.
func (r *Repo) BackupContents(id string, opts *Options) (*BackupContents, error) {
	cid := C.CString(id)
	defer C.free(unsafe.Pointer(cid))
	var document string
	err := r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		var contents *C.pgb_backup_contents
		if err := r.storage.ctx.check(C.pgb_backup_contents_read(&contents, repo, cid, o)); err != nil {
			return err
		}
		document = C.GoString(C.pgb_backup_contents_to_json(contents))
		C.pgb_backup_contents_free(contents)
		return nil
	})
	if err != nil {
		return nil, err
	}
	contents := &BackupContents{}
	if err := json.Unmarshal([]byte(document), contents); err != nil {
		return nil, fmt.Errorf("pgbackup: cannot decode backup contents: %w", err)
	}
	return contents, nil
}

// Databases are the databases a logical backup holds (none for other kinds),
// read from the record's JSON.
func (b *BackupRecord) Databases() []string {
	var record struct {
		Databases []string `json:"databases"`
	}
	if json.Unmarshal(b.JSON, &record) != nil {
		return nil
	}
	return record.Databases
}
