package pgbackup

/*
#include <pgbackup/error.h>
#include <pgbackup/manifest.h>
#include <pgbackup/verify.h>
*/
import "C"

import (
	"encoding/json"
	"fmt"
)

// VerifyReport is what a verification found. Problems are collected, never
// returned as errors: OK is false when there is any.
type VerifyReport struct {
	OK           bool
	Directory    string // the folder checked; for a repository, the backup id
	FilesChecked int64  // files found and compared
	BytesChecked int64  // bytes read to recompute checksums
	Problems     []VerifyProblem
	JSON         json.RawMessage // the report as the library wrote it (format_version 1)
}

// VerifyProblem is one problem of a report.
type VerifyProblem struct {
	// "missing", "extra", "size", "checksum", "wal-missing" or "manifest".
	Kind string
	// Relative to the backup ("base/5/16384", "pg_wal/000000010000000000000002"),
	// with the bytes it has on disk.
	Path string
	// A sentence naming the path.
	Message string
}

// Verify checks one backup inside the repository without restoring it: every
// chunk read back and checked against its authentication and SHA-256, each
// file against the file list and the server's backup_manifest, and the WAL
// the backup needs. backupID is an id as List gives, or "" for the newest
// physical backup.
//
// Errors (the check could not run): CodeNotFound for an unknown id, CodeAuth
// when this handle holds only the writer key.
func (r *Repo) Verify(backupID string) (*VerifyReport, error) {
	return r.VerifyWithOptions(backupID, nil)
}

// VerifyWithOptions is Verify with options: "jobs", the worker threads that
// read the files back (default 1); the findings and their order are the same
// whatever their number. opts may be nil, and may belong to another Context.
func (r *Repo) VerifyWithOptions(backupID string, opts *Options) (*VerifyReport, error) {
	var cID *C.char
	if backupID != "" {
		var err error
		if cID, err = cString(backupID, "backup id"); err != nil {
			return nil, err
		}
		defer freeC(cID)
	}
	var report *VerifyReport
	err := r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		var ptr *C.pgb_verify_report
		if err := r.storage.ctx.check(C.pgb_verify_backup_with_options(&ptr, repo, cID, o)); err != nil {
			return err
		}
		defer C.pgb_verify_report_free(ptr)
		var err error
		report, err = readReport(ptr)
		return err
	})
	return report, err
}

// VerifyDir checks a backup directory (pg_basebackup -Fp output, or a
// restored data directory that still has its backup_manifest and has not been
// started) against its backup_manifest, as pg_verifybackup does, with a fresh
// Context. opts ("jobs": checksum workers) may be nil.
//
// Errors (the check could not run): CodeCorrupt when the manifest is missing,
// unreadable or fails its own checksum; CodeNotFound when dir does not exist;
// CodeInvalid when it is not a directory.
func VerifyDir(dir string, opts *Options) (*VerifyReport, error) {
	ctx, err := NewContext()
	if err != nil {
		return nil, err
	}
	defer ctx.Close()
	return ctx.VerifyDir(dir, opts)
}

// VerifyDir is the package-level VerifyDir on this context.
func (c *Context) VerifyDir(dir string, opts *Options) (*VerifyReport, error) {
	cDir, err := cString(dir, "directory")
	if err != nil {
		return nil, err
	}
	defer freeC(cDir)
	var report *VerifyReport
	err = c.withOptions(opts, func(ctx *C.pgb_ctx, o *C.pgb_options) error {
		var ptr *C.pgb_verify_report
		if err := c.check(C.pgb_verify_dir(&ptr, ctx, cDir, o)); err != nil {
			return err
		}
		defer C.pgb_verify_report_free(ptr)
		var err error
		report, err = readReport(ptr)
		return err
	})
	return report, err
}

// readReport copies a C report: its findings through the accessors, the
// counts from its JSON (which has no accessor for them).
func readReport(ptr *C.pgb_verify_report) (*VerifyReport, error) {
	report := &VerifyReport{OK: C.pgb_verify_report_ok(ptr) == 1, Problems: []VerifyProblem{}}
	for {
		var finding *C.pgb_verify_finding
		status := C.pgb_verify_report_next(ptr, &finding)
		if status == C.PGB_ITEROVER {
			break
		}
		if status != 0 {
			return nil, newError(int(status), "cannot read the verification report", "")
		}
		report.Problems = append(report.Problems, VerifyProblem{
			Kind:    C.GoString(C.pgb_verify_finding_kind(finding)),
			Path:    C.GoString(C.pgb_verify_finding_path(finding)),
			Message: C.GoString(C.pgb_verify_finding_message(finding)),
		})
	}
	document := C.GoString(C.pgb_verify_report_to_json(ptr))
	var counts struct {
		Directory    string `json:"directory"`
		FilesChecked int64  `json:"files_checked"`
		BytesChecked int64  `json:"bytes_checked"`
	}
	if err := json.Unmarshal([]byte(document), &counts); err != nil {
		return nil, fmt.Errorf("pgbackup: cannot decode the verification report: %w", err)
	}
	report.Directory = counts.Directory
	report.FilesChecked = counts.FilesChecked
	report.BytesChecked = counts.BytesChecked
	report.JSON = json.RawMessage(document)
	return report, nil
}
