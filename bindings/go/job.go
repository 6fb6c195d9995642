package pgbackup

/*
#include <pgbackup/job.h>
#include <pgbackup/progress.h>
*/
import "C"

import (
	"context"
)

// Backup backs up a cluster into the repository and returns the committed
// catalog record; it is BackupContext with a context that is never done.
func (r *Repo) Backup(opts *Options) (*BackupRecord, error) {
	return r.BackupContext(context.Background(), opts)
}

// BackupContext backs up a cluster into the repository (pgb_job_new, then
// pgb_job_run) and returns the committed catalog record.
//
// Options, read when the job is made: "pg" (libpq conninfo), "type"
// (physical), "mode" ("stream", or "local" on the database host),
// "incremental" ("true": store only what changed since the newest physical
// backup, which becomes Parent), "checkpoint" ("fast" or "spread"),
// "compress", "label". opts may be nil, and may belong to another Context
// (whose mutex is then held only while the job is made).
// The job takes the cluster's writer lock for its run and releases it after,
// also when this handle held it before.
//
// The run holds the Context's mutex from start to end: other calls through
// the same Context wait. When ctx is done before the backup is committed, the
// job is canceled (pgb_job_cancel, from another goroutine) and the error is an
// *Error with CodeCanceled that also wraps ctx.Err(). A failed or canceled
// backup commits nothing. Other errors: CodeLocked when another writer holds
// the cluster, CodeConnection, CodeCorrupt when the server found damaged
// pages, CodeUnsupported for a type or mode this version cannot run.
func (r *Repo) BackupContext(ctx context.Context, opts *Options) (*BackupRecord, error) {
	c := r.storage.ctx
	var job *C.pgb_job
	err := r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		return c.check(C.pgb_job_new(&job, repo, o))
	})
	if err != nil {
		return nil, err
	}
	// Freed once the run and the goroutine that may cancel it are over; it
	// touches only its own memory, so the mutex is not needed.
	defer C.pgb_job_free(job)

	var document string
	err = r.with(func(*C.pgb_repo) error {
		// pgb_job_cancel sets the context's cancel flag, which outlives the
		// job: start clear, and leave it clear for the context's next call.
		C.pgb_ctx_reset_cancel(c.ptr)
		defer C.pgb_ctx_reset_cancel(c.ptr)
		if ctx.Err() != nil {
			// Done already: cancel before the run, not when a goroutine gets to it.
			C.pgb_job_cancel(job)
		} else if done := ctx.Done(); done != nil {
			stop, stopped := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(stopped)
				select {
				case <-done:
					C.pgb_job_cancel(job) // thread-safe; must not take the mutex this run holds
				case <-stop:
				}
			}()
			defer func() {
				close(stop)
				<-stopped // the job is not freed under a cancel
			}()
		}
		if err := c.check(C.pgb_job_run(job)); err != nil {
			if e, ok := err.(*Error); ok && e.Code == CodeCanceled && ctx.Err() != nil {
				e.cause = ctx.Err()
			}
			return err
		}
		document = C.GoString(C.pgb_job_to_json(job))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return decodeBackupRecord([]byte(document))
}
