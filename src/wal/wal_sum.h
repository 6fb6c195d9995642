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
};

/*
 * Write the record of name at sum_key, never replacing one (durable on return).
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

#endif
