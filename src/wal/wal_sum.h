/*
 * The checksum record beside each archived WAL file ("<key>.sum"): the
 * plaintext SHA-256 and size, sealed with the writer key. It lets a writing
 * host that holds only the writer key (recipients mode) tell an identical
 * re-push, which must succeed, from a conflicting one, which must fail,
 * without reading the archived file; and it lets readers check what they
 * fetch. The record names its file, so records swapped between keys are
 * refused as damage.
 */
#ifndef PGB_WAL_WAL_SUM_H
#define PGB_WAL_WAL_SUM_H

#include <stdint.h>

#include "repo/repo.h"

struct pgb_wal_sum {
    uint8_t sha256[32];
    uint64_t size;
    int64_t archived_at; /* when it was archived, seconds since the epoch (read only; 0 when unknown) */
};

/*
 * Write the record of name at sum_key, never replacing one (durable on return),
 * with the time of writing as archived_at.
 * Returns 0, PGB_EEXISTS when a record is there already, or another PGB_E* code.
 */
int pgb_wal_sum_write(struct pgb_repo *repo, const char *sum_key, const char *name, const struct pgb_wal_sum *sum);

/*
 * Read the record of name at sum_key.
 * Returns 0, PGB_ENOTFOUND when there is none, PGB_ECORRUPT for a damaged
 * record or one of another file, PGB_EAUTH without the writer key.
 */
int pgb_wal_sum_read(struct pgb_repo *repo, const char *sum_key, const char *name, struct pgb_wal_sum *sum);

/* Whether two records describe the same content. */
int pgb_wal_sum_equal(const struct pgb_wal_sum *a, const struct pgb_wal_sum *b);

/*
 * Write the record of a WAL receiver's partial segment, replacing the one
 * there: as pgb_wal_sum_write, plus "received_end", the LSN where the WAL it
 * holds ends (zeros follow, up to the segment size).
 */
int pgb_wal_sum_write_received(struct pgb_repo *repo, const char *sum_key, const char *name,
                               const struct pgb_wal_sum *sum, uint64_t received_end);

/*
 * Read a record as pgb_wal_sum_read does, and its received_end: 0 for a
 * record without one (a file archive_command pushed).
 */
int pgb_wal_sum_read_received(struct pgb_repo *repo, const char *sum_key, const char *name, struct pgb_wal_sum *sum,
                              uint64_t *received_end);

#endif
