package pgbackup

/*
#include <pgbackup/wal_receive.h>
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// LSN is a WAL position, a byte offset in the WAL stream.
type LSN uint64

// String prints the position as PostgreSQL does: "16/B374D848".
func (l LSN) String() string {
	return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF)
}

// WALReceiver streams WAL from PostgreSQL into a repository, as
// 'pgbackup wal-receive' does: through a permanent physical slot (made if
// missing), each complete segment stored as WALPush stores it, the
// unfinished one as <segment>.partial, which WALFetch serves when the segment
// itself is missing. It resumes after the end of what the repository holds,
// reconnects after disconnects and follows timeline switches.
//
// Run blocks until Stop (or its context is done) and holds the Context's
// mutex the whole time: other calls through the same Context wait, and the
// repository, its storage and its context must not be closed from another
// goroutine before the receiver stops. Stop, ReceivedLSN, FlushedLSN and
// Timeline may be called from any goroutine at any time.
type WALReceiver struct {
	repo *Repo
	slot string
	mu   sync.Mutex // guards ptr against a free while another goroutine stops or reads
	ptr  *C.pgb_wal_receiver
}

// NewWALReceiver makes a receiver; nothing connects yet. Options, read now:
// "pg" (libpq conninfo), "slot" (default pgbackup_<cluster>),
// "status-interval" (seconds), "partial-interval" (milliseconds between
// stores of the partial while WAL flows; 0 stores it at every pause),
// "compress". opts may be nil, and may belong to another Context. Close the
// receiver when done; closing the repository closes it too.
//
// Errors: CodeInvalid for a bad option, a slot name PostgreSQL would refuse
// or a cluster the repository lacks.
func (r *Repo) NewWALReceiver(opts *Options) (*WALReceiver, error) {
	w := &WALReceiver{repo: r}
	err := r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		var ptr *C.pgb_wal_receiver
		if err := r.storage.ctx.check(C.pgb_wal_receiver_new(&ptr, repo, o)); err != nil {
			return err
		}
		w.ptr = ptr
		w.slot = C.GoString(C.pgb_wal_receiver_slot(ptr))
		// Freed with the repository's other children, before it.
		r.plans.frees[unsafe.Pointer(ptr)] = func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			C.pgb_wal_receiver_free(w.ptr)
			w.ptr = nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	runtime.SetFinalizer(w, (*WALReceiver).Close)
	return w, nil
}

// Run receives WAL until Stop is called or ctx is done, then stores what it
// received and returns nil. A receiver runs once.
//
// Errors: CodeConnection when the first connection fails (later disconnects
// are retried, not returned), CodeUnsupported for a server outside
// PostgreSQL 13 to 17, CodeRefused when the server turns out to be another
// cluster, CodeExists when the archive holds other content under a name the
// server sends, CodeInvalid for a second run.
func (w *WALReceiver) Run(ctx context.Context) error {
	return w.repo.with(func(*C.pgb_repo) error {
		w.mu.Lock()
		ptr := w.ptr
		w.mu.Unlock()
		if ptr == nil {
			return newError(CodeInvalid, "the WAL receiver is closed", "")
		}
		if ctx.Err() != nil {
			C.pgb_wal_receiver_stop(ptr)
		} else if done := ctx.Done(); done != nil {
			finished, watched := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(watched)
				select {
				case <-done:
					w.Stop() // thread-safe; must not take the mutex this run holds
				case <-finished:
				}
			}()
			defer func() {
				close(finished)
				<-watched
			}()
		}
		// The receiver is freed only under the mutex this run holds: ptr stays valid.
		return w.repo.storage.ctx.check(C.pgb_wal_receiver_run(ptr))
	})
}

// Stop asks a running receiver to stop and returns at once; Run then stores
// what was received and returns. Before Run, it makes Run return at once.
func (w *WALReceiver) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ptr != nil {
		C.pgb_wal_receiver_stop(w.ptr)
	}
}

// ReceivedLSN is how far WAL has been received (0 before any).
func (w *WALReceiver) ReceivedLSN() LSN {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ptr == nil {
		return 0
	}
	return LSN(C.pgb_wal_receiver_received_lsn(w.ptr))
}

// FlushedLSN is how far received WAL is durable in the repository; the
// flush position told to the server never passes it.
func (w *WALReceiver) FlushedLSN() LSN {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ptr == nil {
		return 0
	}
	return LSN(C.pgb_wal_receiver_flushed_lsn(w.ptr))
}

// Timeline is the timeline being received (0 before the first connection).
func (w *WALReceiver) Timeline() uint32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ptr == nil {
		return 0
	}
	return uint32(C.pgb_wal_receiver_timeline(w.ptr))
}

// Slot is the name of the replication slot.
func (w *WALReceiver) Slot() string { return w.slot }

// Close stops the receiver, waits for a Run in another goroutine to return,
// and frees it. Calling it again does nothing.
func (w *WALReceiver) Close() {
	w.Stop()
	ctx := w.repo.storage.ctx
	ctx.mu.Lock()
	defer ctx.mu.Unlock()
	w.mu.Lock()
	ptr := w.ptr
	w.mu.Unlock()
	if ptr != nil {
		w.repo.plans.release(unsafe.Pointer(ptr))
	}
	runtime.SetFinalizer(w, nil)
}
