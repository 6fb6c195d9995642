package pgbackup

/*
#include <pgbackup/wal.h>
*/
import "C"

// WALPush archives one WAL file, as archive_command does ('... wal-push %p').
// path is the file (relative to the current directory); its name says what
// it is: a segment, TTTTTTTT.history, a .backup or a .partial file. opts
// ("compress", default zstd:3) may be nil, and may belong to another Context.
// With "jobs" 2 or more, the segments ready after path (archive_status/*.ready,
// up to "push-ahead", default 4 x jobs) are pushed too, in parallel, and
// marked in "spool-dir" (default pgbackup.spool beside path): their own calls
// then return at once. It returns once the file is durable; pushing an
// identical file again succeeds.
//
// Errors: CodeExists when the archive holds different content under the name
// (the archived copy is kept), CodeCorrupt for a file named as a segment that
// is not one, CodeInvalid for a name that is not a WAL file's, CodeNotFound
// when the local file is missing.
func (r *Repo) WALPush(path string, opts *Options) error {
	cPath, err := cString(path, "WAL file path")
	if err != nil {
		return err
	}
	defer freeC(cPath)
	if opts == nil {
		return r.with(func(repo *C.pgb_repo) error {
			return r.storage.ctx.check(C.pgb_wal_push(repo, cPath))
		})
	}
	return r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		return r.storage.ctx.check(C.pgb_wal_push_with_options(repo, cPath, o))
	})
}

// WALFetch restores one archived WAL file, as restore_command does
// ('... wal-fetch %f %p'): name as the server asks for it (%f), dest where to
// write it (%p), which appears only once complete. A segment archived only as
// <name>.partial is served from it.
//
// Errors: CodeNotFound only when the file is certainly not archived (dest is
// left untouched), CodeAuth when this handle holds only the writer key,
// CodeCorrupt for damage.
func (r *Repo) WALFetch(name, dest string) error {
	cName, err := cString(name, "WAL file name")
	if err != nil {
		return err
	}
	defer freeC(cName)
	cDest, err := cString(dest, "destination")
	if err != nil {
		return err
	}
	defer freeC(cDest)
	return r.with(func(repo *C.pgb_repo) error {
		return r.storage.ctx.check(C.pgb_wal_fetch(repo, cName, cDest))
	})
}

// WALFetchWithOptions restores one archived WAL file as WALFetch does, with
// options (which may belong to another Context; nil for the defaults):
// "prefetch" N also fetches the N segments after a segment, in parallel, into
// the spool ("spool-dir", default pgbackup.spool beside dest), and later
// calls are served from there without reaching the repository (default 0:
// none). Prefetch failures never change the result.
//
// Errors: as WALFetch; CodeNotFound still only when the file is certainly not
// archived.
func (r *Repo) WALFetchWithOptions(name, dest string, opts *Options) error {
	if opts == nil {
		return r.WALFetch(name, dest)
	}
	cName, err := cString(name, "WAL file name")
	if err != nil {
		return err
	}
	defer freeC(cName)
	cDest, err := cString(dest, "destination")
	if err != nil {
		return err
	}
	defer freeC(cDest)
	return r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		return r.storage.ctx.check(C.pgb_wal_fetch_with_options(repo, cName, cDest, o))
	})
}
