/*
 * The steps of pgb_verify_dir(), one file each: walking the directory,
 * recomputing checksums in parallel, checking WAL segments. They share this
 * state and add what they find to the report.
 */
#ifndef PGB_MANIFEST_VERIFY_DIR_H
#define PGB_MANIFEST_VERIFY_DIR_H

#include <stdint.h>

#include <pgbackup/common.h>

#include "manifest/manifest.h"
#include "manifest/verify_report.h"

/* What the walk learned of each manifest entry. */
enum verify_file_state {
    VERIFY_FILE_UNSEEN = 0,  /* not on disk (or ignored) */
    VERIFY_FILE_SEEN,        /* on disk with the right size: checksum it */
    VERIFY_FILE_WRONG_SIZE   /* reported already: no checksum */
};

struct verify_state {
    pgb_ctx *ctx;
    const char *root; /* the backup directory */
    const struct pgb_manifest *manifest;
    pgb_verify_report *report;
    unsigned char *file_states; /* enum verify_file_state, per manifest entry */
};

/*
 * Whether relative_path is one pg_verifybackup always skips (backup_manifest,
 * pg_wal, postgresql.auto.conf, recovery.signal, standby.signal) or lies under one.
 */
int pgb_verify_is_ignored(const char *relative_path);

/* Add a finding; PGB_ENOMEM is recorded in the context. */
int pgb_verify_add(struct verify_state *state, const char *kind, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Every file on disk: in the manifest ("extra") with the right size ("size"). Fills file_states. */
int pgb_verify_walk(struct verify_state *state);

/* Recompute the checksum of every SEEN file with jobs threads ("checksum"). */
int pgb_verify_checksums(struct verify_state *state, int jobs);

/* Every WAL segment the manifest's WAL ranges need is in pg_wal ("wal-missing"). */
int pgb_verify_wal(struct verify_state *state);

#endif
