/*
 * libpgbackup: the WAL archive.
 *
 * PostgreSQL hands each finished WAL file to archive_command and asks for
 * them back through restore_command during recovery. pgb_wal_push() and
 * pgb_wal_fetch() are those two commands: every file is stored once, under
 * its timeline ("clusters/<c>/wal/<TTTTTTTT>/<name>", compressed, sealed for
 * the repository key), with a small checksum record beside it sealed with the
 * writer key, so that a host holding only the writer key can still tell an
 * identical re-push from a conflicting one. Format: doc/repository-format.md.
 *
 * Neither takes the cluster's writer lock: WAL is archived while backups run.
 */
#ifndef PGBACKUP_WAL_H
#define PGBACKUP_WAL_H

#include "common.h"
#include "repo.h"

PGB_BEGIN_DECLS

/** pgb_wal_push(), pgb_wal_push_with_options() and pgb_wal_fetch() are available. */
#define PGB_HAS_WAL_ARCHIVE 1

/**
 * pgb_wal_push_with_options() pushes ready segments ahead with "jobs" 2 or
 * more, and pgb_wal_fetch_with_options() prefetches ("prefetch", "spool-dir").
 */
#define PGB_HAS_WAL_PREFETCH 1

/**
 * Archive one WAL file, for archive_command ('pgbackup ... wal-push %p').
 *
 * The file's name says what it is: a segment, a timeline history
 * (TTTTTTTT.history), a backup history (<segment>.XXXXXXXX.backup) or a
 * partial segment (<segment>.partial); anything else is refused. A segment
 * must be a real one: its size equals the segment size in its long page
 * header, its page magic is that of PostgreSQL 13 to 17, and its first page
 * is at the position its name says. The file is written without ever
 * replacing an object, and the call returns only once it is durable, so that
 * the server may recycle it at once.
 *
 * Pushing a file that is archived already with the same content succeeds (the
 * server re-archives after a crash); with different content it fails and the
 * archived copy is kept. Compression is zstd:3; pgb_wal_push_with_options()
 * takes another, and pushes ready segments ahead. A segment pushed ahead by an
 * earlier call returns at once (see pgb_wal_push_with_options()).
 *
 * @param repo  an open repository, with a key that can write (any but none
 *              needed for a plain repository)
 * @param path  the file; a relative path is relative to the current directory
 *              (the server runs archive_command in its data directory)
 * @return 0 once archived (or found archived with identical content);
 *         PGB_EINVALID for a name that is not a WAL file's or a cluster the
 *         repository lacks; PGB_ECORRUPT for a file named as a segment that
 *         is not a segment; PGB_EEXISTS when the archive holds different
 *         content under the name; PGB_EAUTH when an earlier push was
 *         interrupted before its checksum record and this handle, holding
 *         only the writer key, cannot read the archived copy to compare;
 *         PGB_ENOTFOUND or PGB_EIO for the local file; or another PGB_E*
 *         code. Details in pgb_ctx_errmsg() of the repository's context.
 */
PGB_EXTERN int pgb_wal_push(pgb_repo *repo, const char *path);

/**
 * Archive one WAL file as pgb_wal_push() does, with options, pushing the
 * segments the server has ready after it ahead when asked to.
 *
 * With "jobs" N of 2 or more and path a segment, the segments named after it
 * that have a ".ready" file in the archive_status folder beside path (up to
 * "push-ahead" of them, default 4 x N) are archived too, by N threads while
 * path is, each exactly as durably as by its own call. For each one archived,
 * a marker in the spool folder ("spool-dir", default "pgbackup.spool" beside
 * path, so inside pg_wal) names this repository and cluster and the SHA-256
 * and size of the content. The server's later call for such a segment finds
 * the marker, hashes the file, and when both agree returns 0 at once without
 * reaching the repository, removing the marker; any other marker is ignored
 * and the file pushed as usual. Whatever goes wrong ahead (logged as a
 * warning) never changes the result: only path's own push decides it. Timeline
 * history, backup history and partial files are never pushed ahead. Markers
 * of segments before path's are removed.
 *
 * Markers are honoured whatever the options, so a call made without "jobs"
 * still returns at once for a segment pushed ahead by an earlier call.
 *
 * @param repo  an open repository
 * @param path  the file
 * @param opts  options: "compress" (default zstd:3), "jobs", "push-ahead",
 *              "spool-dir"; NULL for the defaults (no push-ahead)
 * @return as pgb_wal_push()
 */
PGB_EXTERN int pgb_wal_push_with_options(pgb_repo *repo, const char *path, const pgb_options *opts);

/**
 * Restore one archived WAL file, for restore_command
 * ('pgbackup ... wal-fetch %f %p').
 *
 * Every byte is authenticated and the content checked against its checksum
 * record. destination is written through a temporary file in the same folder,
 * synced and renamed into place: it exists only once complete, and is left
 * untouched on any failure.
 *
 * When a segment was never archived complete but its partial segment
 * (<name>.partial) was, the partial's content is served under the requested
 * name: it is the end of a receiver's stream (or the last segment of a
 * timeline that was promoted away from), and recovery can replay what it holds.
 *
 * A segment an earlier call prefetched into the spool beside destination is
 * served from there (see pgb_wal_fetch_with_options(), which also prefetches).
 *
 * @param repo         an open repository, with a key that can read (a
 *                     passphrase or an identity when encrypted)
 * @param name         the file's name as the server asks for it (%f)
 * @param destination  where to write it (%p); relative to the current directory
 * @return 0 once destination is complete and durable; PGB_ENOTFOUND only when
 *         the repository answered and the file is certainly not archived (the
 *         one failure after which recovery may go on without it);
 *         PGB_EINVALID for a name that is not a WAL file's or a cluster the
 *         repository lacks; PGB_EAUTH when this handle holds only the writer
 *         key; PGB_ECORRUPT for damage; PGB_EIO; or another PGB_E* code
 */
PGB_EXTERN int pgb_wal_fetch(pgb_repo *repo, const char *name, const char *destination);

/**
 * Restore one archived WAL file as pgb_wal_fetch() does, with options,
 * prefetching the segments after it so that recovery is not bound by one
 * repository round trip per segment.
 *
 * For a segment, the spool folder ("spool-dir", default "pgbackup.spool"
 * beside destination, so inside pg_wal during recovery) is looked at first:
 * when it holds the segment, prefetched from this repository and cluster,
 * with the SHA-256 and size authenticated when it was fetched, it is renamed
 * into destination (the folder then synced) and the call returns 0 without
 * reaching the repository. Otherwise the segment is fetched as by
 * pgb_wal_fetch(), and once it is known to be archived complete, the
 * "prefetch" K segments after it on the same timeline are fetched into the
 * spool by up to 16 threads while it is copied, stopping at the first one
 * that is not archived. Only complete segments are prefetched: a partial
 * segment is never served from the spool. Spooled segments whose number is
 * below the requested one are removed. The call returns once destination is
 * in place and the prefetch threads are done; prefetch failures are logged
 * as warnings and never change the result. Timeline history and backup
 * history files never go through the spool.
 *
 * Spooled segments are looked at whatever the options, so a call with
 * "prefetch" 0 still serves what an earlier call prefetched.
 *
 * @param repo         an open repository, with a key that can read
 * @param name         the file's name as the server asks for it (%f)
 * @param destination  where to write it (%p); relative to the current directory
 * @param opts         options: "prefetch" (default 0: none), "spool-dir"; NULL
 *                     for the defaults
 * @return as pgb_wal_fetch(): PGB_ENOTFOUND only when the file is certainly
 *         not archived
 */
PGB_EXTERN int pgb_wal_fetch_with_options(pgb_repo *repo, const char *name, const char *destination,
                                          const pgb_options *opts);

PGB_END_DECLS

#endif /* PGBACKUP_WAL_H */
