/*
 * Streaming a base backup over a replication connection (BASE_BACKUP): the
 * server's tar archives are read as they arrive and handed on entry by entry,
 * with the server's backup_manifest, without holding any file in memory.
 *
 * WAL is not part of the stream: the caller receives it on a second
 * connection (pg/wal_streamer.h), started from on_started.
 */
#ifndef PGB_PG_BASE_BACKUP_H
#define PGB_PG_BASE_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <pgbackup/common.h>

#include "pg/tar_stream.h"

/*
 * What receives the backup. All are called on the calling thread, in stream
 * order; any may be NULL. A non-zero return stops the backup: the server is
 * told to abort it (the connection stays usable when the server answers), and
 * pgb_base_backup_run returns that same code. A callback that stops should
 * record why in the context; otherwise a generic message is recorded.
 *
 * Order: tablespace archives first (entries under "pg_tblspc/<oid>/..."), then
 * the main data directory (backup_label first, global/pg_control last), then
 * the manifest. Each tablespace also comes as a symlink entry
 * "pg_tblspc/<oid>" pointing at its location on the server, after its
 * content: a restore re-points it at the (mapped) new location, as
 * pg_basebackup -T does. No tablespace_map is asked for: PostgreSQL would
 * relink to the original locations from it at startup.
 */
struct pgb_base_backup_callbacks {
    void *payload;
    int (*entry_begin)(void *payload, const struct pgb_backup_entry *entry);
    int (*entry_data)(void *payload, const uint8_t *data, size_t size); /* file bytes, in order */
    int (*entry_end)(void *payload);
    /* The server's backup_manifest, verbatim, in pieces. */
    int (*manifest_data)(void *payload, const uint8_t *data, size_t size);
    /*
     * Archive bytes received so far, and the server's estimate of the total
     * (0 when unknown: the progress option is off). Called at least at every
     * archive's end and about every megabyte.
     */
    int (*progress)(void *payload, uint64_t bytes_done, uint64_t bytes_total);
};

struct pgb_base_backup_options {
    const char *label;              /* into backup_label; NULL: "pgbackup base backup" */
    int fast_checkpoint;            /* CHECKPOINT 'fast' instead of a spread checkpoint */
    int verify_checksums;           /* check data-page checksums while reading (default 1) */
    const char *manifest_checksums; /* NONE, CRC32C, SHA224, SHA256 (default), SHA384, SHA512 */
    int progress;                   /* let the server size the tablespaces first, for bytes_total */
};

/* Fill opts with the defaults (verify_checksums = 1, manifest_checksums = "SHA256"). */
void pgb_base_backup_options_init(struct pgb_base_backup_options *opts);

struct pgb_tablespace {
    uint32_t oid;
    char *location; /* absolute path on the server */
};

struct pgb_base_backup_result {
    uint64_t start_lsn, end_lsn;
    uint32_t start_tli, end_tli;
    struct pgb_tablespace *tablespaces; /* all but the main data directory */
    size_t tablespace_count;
    char system_identifier[32]; /* decimal, from IDENTIFY_SYSTEM */
    int server_version_num;
    /*
     * Set (the server's total, at least 1) when the server ended with SQLSTATE
     * XX001: all data arrived, end_lsn is valid, but some pages had bad
     * checksums, and pgb_base_backup_run returned PGB_ECORRUPT.
     */
    int checksum_failures;
};

/*
 * Run BASE_BACKUP on conn and deliver everything it sends to cb.
 *
 * Asks for MANIFEST 'yes', the manifest checksums of opts and WAIT false, and
 * never for TABLESPACE_MAP or WAL. Servers 15 to 17 get the option-list syntax and one COPY
 * stream; 13 and 14 the old syntax and one COPY per archive. Other majors are
 * refused with PGB_EUNSUPPORTED.
 *
 * Between the start position and the first archive byte, on_started (if not
 * NULL) is called with cb->payload, the start LSN and timeline, so the caller
 * can start receiving WAL; its non-zero return stops the backup like a callback's.
 *
 * The context's cancel flag is checked between messages and while waiting for
 * the server (including the starting checkpoint): when set, the backup is
 * aborted and PGB_ECANCELED returned.
 *
 * The server's notices (WARNINGs about skipped files or bad pages) go to the
 * context's log. For that the connection's notice receiver is replaced during
 * the call and put back afterwards with a NULL argument (libpq cannot report the
 * old one): fine for pgb_pg_connect's connections, which keep libpq's default.
 *
 * @param ctx     errors; its error is cleared first
 * @param conn    an open replication connection (pgb_pg_connect with
 *                PGB_PG_REPLICATION), idle; the caller keeps ownership. After a
 *                failure it is idle again if the server could be stopped cleanly,
 *                else it should be closed.
 * @param opts    NULL for the defaults
 * @param cb      receives entries, manifest and progress; NULL discards all
 * @param result  filled as far as known, also on failure; release with
 *                pgb_base_backup_result_clear (also after a failure)
 * @return 0; a callback's code; PGB_ECANCELED; PGB_ECORRUPT (damaged stream,
 *         or page checksum failures: see result->checksum_failures);
 *         PGB_ECONNECTION with the server's message in the detail;
 *         PGB_EUNSUPPORTED; PGB_EINVALID (bad options); PGB_ENOMEM
 */
int pgb_base_backup_run(pgb_ctx *ctx, PGconn *conn, const struct pgb_base_backup_options *opts,
                        const struct pgb_base_backup_callbacks *cb,
                        int (*on_started)(void *payload, uint64_t start_lsn, uint32_t tli),
                        struct pgb_base_backup_result *result);

/* Free what result owns and zero it. Safe on a zeroed or already cleared result. */
void pgb_base_backup_result_clear(struct pgb_base_backup_result *result);

#endif
