package pgbackup

/*
#include <pgbackup/repo.h>
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"unsafe"
)

// Repo is an open repository: a tree of immutable objects on a Storage that
// holds backups of any number of clusters (option "cluster", default "main").
//
// A Repo keeps its Storage (and so its Context) alive, and is closed before
// them: closing the storage or the context closes it. Closing releases the
// writer lock if this handle holds it.
type Repo struct {
	storage    *Storage
	ptr        *C.pgb_repo
	id         string
	encryption string
	canRead    bool
	plans      *children // restore plans, freed before the repository
}

// BackupRecord is one backup of a repository's catalog. The typed fields are
// decoded from JSON; a field the record lacks is left zero.
type BackupRecord struct {
	ID           string          `json:"id"`          // such as "20261125T101500.123Z-full"
	Type         string          `json:"type"`        // "physical"
	Mode         string          `json:"mode"`        // "stream" or "local"
	Incremental  bool            `json:"incremental"` // stores only what changed since Parent
	Parent       string          `json:"parent"`      // the backup an incremental builds on; "" for a full one
	Label        string          `json:"label"`
	StartLSN     string          `json:"start_lsn"` // such as "0/2000028"
	StopLSN      string          `json:"stop_lsn"`
	StoredSize   int64           `json:"stored_size"`   // bytes this backup added to the repository
	DatabaseSize int64           `json:"database_size"` // bytes of the cluster's files
	JSON         json.RawMessage `json:"-"`             // the whole record as the library wrote it (schema in the C library's README)
}

// decodeBackupRecord fills a BackupRecord from the library's JSON.
func decodeBackupRecord(document []byte) (*BackupRecord, error) {
	record := &BackupRecord{}
	if err := json.Unmarshal(document, record); err != nil {
		return nil, fmt.Errorf("pgbackup: cannot decode a backup record: %w", err)
	}
	record.JSON = append(json.RawMessage(nil), document...)
	return record, nil
}

// InitRepo creates a repository on storage, or adds the cluster named by the
// "cluster" option to an existing one, and opens it. Encryption is chosen here
// and never changes: options "passphrase-file", "recipient" (repeatable) and
// "writer-key" (where the writer key of a recipients-only repository goes;
// default ~/.config/pgbackup/<id>.writer-key). opts may be nil, and may belong
// to another Context.
//
// Errors: CodeRefused when the storage holds objects but no repository,
// CodeExists when the writer key file exists already, CodeInvalid for
// encryption options that differ from an existing repository's.
func InitRepo(storage *Storage, opts *Options) (*Repo, error) {
	return makeRepo("InitRepo", storage, opts, func(out **C.pgb_repo, s *C.pgb_storage, o *C.pgb_options) C.int {
		return C.pgb_repo_init(out, s, o)
	})
}

// OpenRepo opens an existing repository. An encrypted one needs a key among
// the options "passphrase-file", "identity" and "writer-key" (the default
// writer key file is tried last). opts may be nil, and may belong to another
// Context.
//
// Errors: CodeNotFound when there is no repository, CodeAuth for a missing or
// wrong key ("cannot decrypt: wrong key"), CodeUnsupported for a newer format.
func OpenRepo(storage *Storage, opts *Options) (*Repo, error) {
	return makeRepo("OpenRepo", storage, opts, func(out **C.pgb_repo, s *C.pgb_storage, o *C.pgb_options) C.int {
		return C.pgb_repo_open(out, s, o)
	})
}

func makeRepo(caller string, storage *Storage, opts *Options,
	create func(out **C.pgb_repo, s *C.pgb_storage, o *C.pgb_options) C.int) (*Repo, error) {
	if storage == nil {
		return nil, newError(CodeInvalid, caller+": the storage is nil", "")
	}
	r := &Repo{storage: storage, plans: &children{frees: map[unsafe.Pointer]func(){}}}
	err := storage.withOptions(opts, func(s *C.pgb_storage, o *C.pgb_options) error {
		var ptr *C.pgb_repo
		if err := storage.ctx.check(create(&ptr, s, o)); err != nil {
			return err
		}
		r.ptr = ptr
		r.id = C.GoString(C.pgb_repo_id(ptr))
		r.encryption = C.GoString(C.pgb_repo_encryption(ptr))
		r.canRead = C.pgb_repo_can_read(ptr) == 1
		plans := r.plans
		storage.repos.frees[unsafe.Pointer(ptr)] = func() {
			plans.freeAll() // C requires the plans freed before their repository
			C.pgb_repo_close(ptr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	runtime.SetFinalizer(r, (*Repo).Close)
	return r, nil
}

// Close closes the repository (its restore plans first), releasing its
// writer lock if it holds it. Calling it again does nothing.
func (r *Repo) Close() {
	ctx := r.storage.ctx
	ctx.mu.Lock()
	defer ctx.mu.Unlock()
	if r.ptr == nil {
		return
	}
	r.storage.repos.release(unsafe.Pointer(r.ptr))
	r.ptr = nil
	runtime.SetFinalizer(r, nil)
}

// ID is the repository's id: 32 hex digits.
func (r *Repo) ID() string { return r.id }

// Encryption tells how the repository is encrypted: "none", "passphrase",
// "recipients" or "passphrase+recipients".
func (r *Repo) Encryption() string { return r.encryption }

// CanRead tells whether this handle can read backup content: true with no
// encryption, a passphrase or an identity; false for a writer holding only the
// writer key.
func (r *Repo) CanRead() bool { return r.canRead }

// Storage is the storage the repository lives on.
func (r *Repo) Storage() *Storage { return r.storage }

// with runs fn under the context's mutex once it knows the repository (and
// its storage, and their context) are open.
func (r *Repo) with(fn func(repo *C.pgb_repo) error) error {
	return r.storage.with(func(*C.pgb_storage) error {
		if r.ptr == nil {
			return newError(CodeInvalid, "the repository is closed", "")
		}
		return fn(r.ptr)
	})
}

// withOptions is with, also passing opts's handle (see Context.withOptions).
func (r *Repo) withOptions(opts *Options, fn func(repo *C.pgb_repo, opts *C.pgb_options) error) error {
	return r.storage.withOptions(opts, func(_ *C.pgb_storage, o *C.pgb_options) error {
		if r.ptr == nil {
			return newError(CodeInvalid, "the repository is closed", "")
		}
		return fn(r.ptr, o)
	})
}

// Lock takes the writer lock of the cluster: one writer (backup, expire) at a
// time, readers alongside. A lock held by a live process is an *Error with
// CodeLocked naming its pid, host and start time. Locking again through the
// same handle does nothing.
func (r *Repo) Lock() error {
	return r.with(func(repo *C.pgb_repo) error {
		return r.storage.ctx.check(C.pgb_repo_lock(repo))
	})
}

// Unlock releases the writer lock if this handle holds it.
func (r *Repo) Unlock() error {
	return r.with(func(repo *C.pgb_repo) error {
		return r.storage.ctx.check(C.pgb_repo_unlock(repo))
	})
}

// List reads the backup records of the cluster, oldest first; an empty
// catalog gives an empty, non-nil slice.
func (r *Repo) List() ([]BackupRecord, error) {
	var ids []string
	var document string
	err := r.with(func(repo *C.pgb_repo) error {
		var list *C.pgb_backup_list
		if err := r.storage.ctx.check(C.pgb_repo_list(&list, repo)); err != nil {
			return err
		}
		defer C.pgb_backup_list_free(list)
		count := int(C.pgb_backup_list_count(list))
		for i := 0; i < count; i++ {
			ids = append(ids, C.GoString(C.pgb_backup_list_id(list, C.size_t(i))))
		}
		document = C.GoString(C.pgb_backup_list_to_json(list))
		return nil
	})
	if err != nil {
		return nil, err
	}
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(document), &raw); err != nil {
		return nil, fmt.Errorf("pgbackup: cannot decode the backup list: %w", err)
	}
	if len(raw) != len(ids) {
		return nil, fmt.Errorf("pgbackup: the backup list has %d ids but %d JSON records", len(ids), len(raw))
	}
	records := make([]BackupRecord, len(ids))
	for i := range ids {
		record, err := decodeBackupRecord(raw[i])
		if err != nil {
			return nil, err
		}
		record.ID = ids[i]
		records[i] = *record
	}
	return records, nil
}
