// Package pgbackup is the Go binding of libpgbackup, the embeddable PostgreSQL
// backup and recovery library.
//
// The binding uses cgo and finds the C library through pkg-config
// (libpgbackup.pc). Every failure is returned as an *Error carrying the
// library's status code, message and detail.
//
// Concurrency: errors live in the C context (pgb_ctx), not in thread-local
// storage, so goroutines need no OS-thread locking. A C context serves one
// caller at a time, however, so a Context serialises the calls made through it
// (and through the handles made from it) with a mutex. Use one Context per
// goroutine for parallel work.
//
// Handles: a Context makes Options and Storage; a Storage opens Repo handles;
// a Repo makes RestorePlan handles. A child keeps its parent alive and is
// freed before it, as C requires: closing a Context closes its Options and
// Storage, closing a Storage closes its repositories, and closing a Repo
// closes its restore plans. Close handles when done; finalizers free
// forgotten ones, children first.
//
// Long operations (Repo.Backup, RestorePlan.Execute, Repo.Verify) hold their
// Context's mutex throughout. Repo.BackupContext cancels the backup when its
// context.Context is done, through pgb_job_cancel, which takes no mutex.
package pgbackup
