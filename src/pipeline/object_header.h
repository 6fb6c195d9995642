/*
 * The header that begins every stored object (doc/repository-format.md,
 * "Header"): magic, format version, codec, cipher, and for encrypted objects
 * the fields that wrap the object's data key. The encoded header is also the
 * additional data of every body chunk, so any change to it fails authentication.
 */
#ifndef PGB_PIPELINE_OBJECT_HEADER_H
#define PGB_PIPELINE_OBJECT_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/common.h>

#include "pipeline/stream.h"

#define PGB_OBJECT_MAGIC "PGBO"
#define PGB_OBJECT_FORMAT_VERSION 1

/* magic 4, version 1, codec 1, cipher 1, reserved 1: what every header has. */
#define PGB_OBJECT_HEADER_PREFIX_SIZE 8
/* The largest header of any cipher (cipher 1: 8 + 32 + 48). */
#define PGB_OBJECT_HEADER_MAX_SIZE 88
/* The data key sealed with AES-256-GCM: key 32 || tag 16. */
#define PGB_WRAPPED_KEY_SIZE 48
#define PGB_DATA_KEY_SIZE 32

/* Codec values are enum pgb_codec (pipeline/compress.h): 0 none .. 3 gzip. */
#define PGB_OBJECT_CODEC_MAX 3

enum pgb_cipher {
    PGB_CIPHER_NONE = 0,       /* body is the compressed stream */
    PGB_CIPHER_REPOSITORY = 1, /* data key wrapped to the repository X25519 public key */
    PGB_CIPHER_WRITER = 2      /* data key wrapped under the symmetric writer key */
};

struct pgb_object_header {
    uint8_t version;              /* PGB_OBJECT_FORMAT_VERSION; the only version written */
    uint8_t codec;                /* enum pgb_codec of pipeline/compress.h */
    uint8_t cipher;               /* enum pgb_cipher */
    uint8_t ephemeral_public[32]; /* cipher 1 */
    uint8_t wrap_nonce[12];       /* cipher 2 */
    uint8_t wrapped_key[PGB_WRAPPED_KEY_SIZE]; /* cipher 1 and 2 */
};

/* A header of the current version for this codec and cipher, wrap fields zero. */
void pgb_object_header_init(struct pgb_object_header *header, int codec, int cipher);

/* Size of the encoded header for a cipher: 8, 88 or 68; 0 for an unknown cipher. */
size_t pgb_object_header_size(int cipher);

/* The first 8 bytes of the encoded header (additional data of the key wrap). */
void pgb_object_header_prefix(const struct pgb_object_header *header,
                              uint8_t out[PGB_OBJECT_HEADER_PREFIX_SIZE]);

/*
 * Encode header into out (at least PGB_OBJECT_HEADER_MAX_SIZE bytes) and set
 * *size. Returns 0, or PGB_EINVALID for a version, codec or cipher this
 * library cannot write.
 */
int pgb_object_header_encode(pgb_ctx *ctx, const struct pgb_object_header *header, uint8_t *out,
                             size_t *size);

/*
 * Decode the header at the start of data (size bytes available; bytes after
 * the header are ignored) and set *header_size to its length. object_name is
 * used in messages only. Returns 0; PGB_ECORRUPT for a bad magic or a header
 * cut short; PGB_EUNSUPPORTED for a newer version or an unknown codec, cipher
 * or reserved byte.
 */
int pgb_object_header_decode(pgb_ctx *ctx, const char *object_name, const uint8_t *data,
                             size_t size, struct pgb_object_header *header, size_t *header_size);

/*
 * Read and decode the header from the start of source, leaving source at the
 * first byte of the body. The encoded bytes go to raw (at least
 * PGB_OBJECT_HEADER_MAX_SIZE bytes), *raw_size their count: they are the
 * additional data for pgb_decrypt_source_new(). Errors as for decode, or the
 * source's own.
 */
int pgb_object_header_read(pgb_ctx *ctx, const char *object_name, pgb_source *source,
                           struct pgb_object_header *header, uint8_t *raw, size_t *raw_size);

#endif
