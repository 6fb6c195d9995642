#include "pipeline/object_header.h"

#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"

void pgb_object_header_init(struct pgb_object_header *header, int codec, int cipher)
{
    memset(header, 0, sizeof(*header));
    header->version = PGB_OBJECT_FORMAT_VERSION;
    header->codec = (uint8_t)codec;
    header->cipher = (uint8_t)cipher;
}

size_t pgb_object_header_size(int cipher)
{
    switch (cipher) {
    case PGB_CIPHER_NONE: return PGB_OBJECT_HEADER_PREFIX_SIZE;
    case PGB_CIPHER_REPOSITORY: return PGB_OBJECT_HEADER_PREFIX_SIZE + 32 + PGB_WRAPPED_KEY_SIZE;
    case PGB_CIPHER_WRITER: return PGB_OBJECT_HEADER_PREFIX_SIZE + 12 + PGB_WRAPPED_KEY_SIZE;
    default: return 0;
    }
}

void pgb_object_header_prefix(const struct pgb_object_header *header,
                              uint8_t out[PGB_OBJECT_HEADER_PREFIX_SIZE])
{
    memcpy(out, PGB_OBJECT_MAGIC, 4);
    out[4] = header->version;
    out[5] = header->codec;
    out[6] = header->cipher;
    out[7] = 0; /* reserved */
}

static int codec_is_known(unsigned codec)
{
    return codec <= PGB_OBJECT_CODEC_MAX;
}

int pgb_object_header_encode(pgb_ctx *ctx, const struct pgb_object_header *header, uint8_t *out,
                             size_t *size)
{
    size_t total = pgb_object_header_size(header->cipher);
    if (header->version != PGB_OBJECT_FORMAT_VERSION || !codec_is_known(header->codec) ||
        total == 0)
        return pgb_error_set(ctx, PGB_EINVALID,
                             "cannot write an object header with version %u, codec %u, cipher %u",
                             header->version, header->codec, header->cipher);
    pgb_object_header_prefix(header, out);
    uint8_t *p = out + PGB_OBJECT_HEADER_PREFIX_SIZE;
    if (header->cipher == PGB_CIPHER_REPOSITORY) {
        memcpy(p, header->ephemeral_public, 32);
        p += 32;
    } else if (header->cipher == PGB_CIPHER_WRITER) {
        memcpy(p, header->wrap_nonce, 12);
        p += 12;
    }
    if (header->cipher != PGB_CIPHER_NONE)
        memcpy(p, header->wrapped_key, PGB_WRAPPED_KEY_SIZE);
    *size = total;
    return PGB_OK;
}

/* The fixed part: magic, version, codec, cipher, reserved, each refused by name. */
static int decode_prefix(pgb_ctx *ctx, const char *name, const uint8_t *data, size_t size,
                         struct pgb_object_header *header)
{
    size_t magic_seen = size < 4 ? size : 4;
    if (magic_seen > 0 && memcmp(data, PGB_OBJECT_MAGIC, magic_seen) != 0)
        return pgb_error_set(ctx, PGB_ECORRUPT, "object %s: not a libpgbackup object (bad magic)",
                             name);
    if (size < PGB_OBJECT_HEADER_PREFIX_SIZE)
        return pgb_error_set(ctx, PGB_ECORRUPT,
                             "object %s is truncated: it has %zu bytes, its header needs %d", name,
                             size, PGB_OBJECT_HEADER_PREFIX_SIZE);
    unsigned version = data[4], codec = data[5], cipher = data[6], reserved = data[7];
    if (version > PGB_OBJECT_FORMAT_VERSION)
        return pgb_error_set(ctx, PGB_EUNSUPPORTED,
                             "object %s: format version %u is newer than this library "
                             "understands (%d)",
                             name, version, PGB_OBJECT_FORMAT_VERSION);
    if (version != PGB_OBJECT_FORMAT_VERSION)
        return pgb_error_set(ctx, PGB_EUNSUPPORTED,
                             "object %s: format version %u is not one this library "
                             "understands (%d)",
                             name, version, PGB_OBJECT_FORMAT_VERSION);
    if (!codec_is_known(codec))
        return pgb_error_set(ctx, PGB_EUNSUPPORTED,
                             "object %s: unknown codec %u (this library knows 0 none, 1 zstd, "
                             "2 lz4, 3 gzip)",
                             name, codec);
    if (pgb_object_header_size((int)cipher) == 0)
        return pgb_error_set(ctx, PGB_EUNSUPPORTED,
                             "object %s: unknown cipher %u (this library knows 0 none, "
                             "1 repository key, 2 writer key)",
                             name, cipher);
    if (reserved != 0)
        return pgb_error_set(ctx, PGB_EUNSUPPORTED,
                             "object %s: reserved header byte is %u, this library understands "
                             "only 0",
                             name, reserved);
    pgb_object_header_init(header, (int)codec, (int)cipher);
    return PGB_OK;
}

int pgb_object_header_decode(pgb_ctx *ctx, const char *object_name, const uint8_t *data,
                             size_t size, struct pgb_object_header *header, size_t *header_size)
{
    int rc = decode_prefix(ctx, object_name, data, size, header);
    if (rc != PGB_OK)
        return rc;
    size_t total = pgb_object_header_size(header->cipher);
    if (size < total)
        return pgb_error_set(ctx, PGB_ECORRUPT,
                             "object %s is truncated: it has %zu bytes, its header needs %zu",
                             object_name, size, total);
    const uint8_t *p = data + PGB_OBJECT_HEADER_PREFIX_SIZE;
    if (header->cipher == PGB_CIPHER_REPOSITORY) {
        memcpy(header->ephemeral_public, p, 32);
        p += 32;
    } else if (header->cipher == PGB_CIPHER_WRITER) {
        memcpy(header->wrap_nonce, p, 12);
        p += 12;
    }
    if (header->cipher != PGB_CIPHER_NONE)
        memcpy(header->wrapped_key, p, PGB_WRAPPED_KEY_SIZE);
    *header_size = total;
    return PGB_OK;
}

int pgb_object_header_read(pgb_ctx *ctx, const char *object_name, pgb_source *source,
                           struct pgb_object_header *header, uint8_t *raw, size_t *raw_size)
{
    size_t got = 0, more = 0, total;
    /* The prefix says how long the rest is, so read it first and no further. */
    int rc = pgb_source_read_full(source, raw, PGB_OBJECT_HEADER_PREFIX_SIZE, &got);
    if (rc == PGB_OK)
        rc = decode_prefix(ctx, object_name, raw, got, header);
    if (rc != PGB_OK)
        return rc;
    total = pgb_object_header_size(header->cipher);
    rc = pgb_source_read_full(source, raw + got, total - got, &more);
    if (rc == PGB_OK)
        rc = pgb_object_header_decode(ctx, object_name, raw, got + more, header, raw_size);
    return rc;
}
