/*
 * Keyed names of content (doc/repository-format.md, "Keys"): HMAC-SHA256 under
 * a key derived from the writer key, so that names in an encrypted repository
 * reveal nothing about what they name, while the writer still finds what it
 * stored before.
 */
#ifndef PGB_PIPELINE_CONTENT_ID_H
#define PGB_PIPELINE_CONTENT_ID_H

#include <stddef.h>

#include <pgbackup/common.h>

#include "pipeline/keyset.h"

enum { PGB_CONTENT_ID_SIZE = 65 }; /* 64 hex digits and NUL */

/*
 * Derive the content-id key of keys once (HKDF of the writer key), so that
 * naming each chunk costs one HMAC, not a key derivation too. No-op without
 * the writer key.
 */
int pgb_keyset_prepare_id_key(pgb_ctx *ctx, struct pgb_keyset *keys);

/*
 * The id of data within a domain ("cluster", "chunk"). Needs the writer key
 * (PGB_EAUTH otherwise); in a plain repository it is the SHA-256 of domain, a
 * zero byte, and data.
 */
int pgb_content_id(pgb_ctx *ctx, const struct pgb_keyset *keys, const char *domain, const void *data,
                   size_t size, char out[PGB_CONTENT_ID_SIZE]);

#endif
