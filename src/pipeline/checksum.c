/*
 * SHA-256 stages, on OpenSSL's EVP interface (which picks the CPU's SHA
 * extensions when there are any).
 */
#include "pipeline/checksum.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/text.h"

static int digest_start(pgb_ctx *ctx, EVP_MD_CTX **out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return pgb_error_nomem(ctx);
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return pgb_error_set(ctx, PGB_ERROR, "cannot start SHA-256 (OpenSSL)");
    }
    *out = md;
    return PGB_OK;
}

static int digest_update(pgb_ctx *ctx, EVP_MD_CTX *md, const uint8_t *data, size_t size)
{
    if (size && EVP_DigestUpdate(md, data, size) != 1)
        return pgb_error_set(ctx, PGB_ERROR, "SHA-256 update failed (OpenSSL)");
    return PGB_OK;
}

static int digest_end(pgb_ctx *ctx, EVP_MD_CTX *md, uint8_t out[PGB_SHA256_SIZE])
{
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(md, out, &size) != 1 || size != PGB_SHA256_SIZE)
        return pgb_error_set(ctx, PGB_ERROR, "SHA-256 final step failed (OpenSSL)");
    return PGB_OK;
}

/* ---- sink ---- */

struct sha256_sink {
    pgb_sink base;
    EVP_MD_CTX *md;
    uint64_t bytes;
    int finished;
    uint8_t digest[PGB_SHA256_SIZE];
};

static int sha256_sink_write(pgb_sink *sink, const uint8_t *data, size_t size)
{
    struct sha256_sink *s = (struct sha256_sink *)sink;
    if (s->finished)
        return pgb_error_set(sink->ctx, PGB_EINVALID,
                             "SHA-256 stream written after it was finished");
    int rc = digest_update(sink->ctx, s->md, data, size);
    if (rc != PGB_OK)
        return rc;
    s->bytes += size;
    return sink->next ? pgb_sink_write(sink->next, data, size) : PGB_OK;
}

static int sha256_sink_finish(pgb_sink *sink)
{
    struct sha256_sink *s = (struct sha256_sink *)sink;
    if (s->finished)
        return pgb_error_set(sink->ctx, PGB_EINVALID, "SHA-256 stream finished twice");
    int rc = digest_end(sink->ctx, s->md, s->digest);
    if (rc != PGB_OK)
        return rc;
    s->finished = 1;
    return sink->next ? pgb_sink_finish(sink->next) : PGB_OK;
}

static void sha256_sink_destroy(pgb_sink *sink)
{
    struct sha256_sink *s = (struct sha256_sink *)sink;
    EVP_MD_CTX_free(s->md);
    pgb_sink_destroy(sink->next);
    free(s);
}

static const struct pgb_sink_ops sha256_sink_ops = {sha256_sink_write, sha256_sink_finish,
                                                    sha256_sink_destroy};

int pgb_sha256_sink_new(pgb_ctx *ctx, pgb_sink *next, pgb_sink **out)
{
    struct sha256_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return pgb_error_nomem(ctx);
    int rc = digest_start(ctx, &s->md);
    if (rc != PGB_OK) {
        free(s);
        return rc;
    }
    s->base = (pgb_sink){&sha256_sink_ops, ctx, next};
    *out = &s->base;
    return PGB_OK;
}

int pgb_sha256_sink_digest(const pgb_sink *sink, uint8_t out[PGB_SHA256_SIZE])
{
    const struct sha256_sink *s = (const struct sha256_sink *)sink;
    if (!s->finished)
        return pgb_error_set(sink->ctx, PGB_EINVALID,
                             "SHA-256 digest asked for before the stream was finished");
    memcpy(out, s->digest, PGB_SHA256_SIZE);
    return PGB_OK;
}

uint64_t pgb_sha256_sink_bytes(const pgb_sink *sink)
{
    return ((const struct sha256_sink *)sink)->bytes;
}

/* ---- source ---- */

struct sha256_source {
    pgb_source base;
    EVP_MD_CTX *md;
    char *object_name;
    int has_expected, ended, mismatch;
    uint8_t expected[PGB_SHA256_SIZE];
    uint8_t digest[PGB_SHA256_SIZE];
};

static int report_mismatch(struct sha256_source *s)
{
    char expected[2 * PGB_SHA256_SIZE + 1], found[2 * PGB_SHA256_SIZE + 1];
    pgb_hex_encode(s->expected, PGB_SHA256_SIZE, expected);
    pgb_hex_encode(s->digest, PGB_SHA256_SIZE, found);
    return pgb_error_set(s->base.ctx, PGB_ECORRUPT,
                         "checksum mismatch in %s: expected %s, found %s", s->object_name, expected,
                         found);
}

static int sha256_source_read(pgb_source *source, uint8_t *data, size_t size, size_t *got)
{
    struct sha256_source *s = (struct sha256_source *)source;
    *got = 0;
    if (s->mismatch)
        return report_mismatch(s);
    if (s->ended)
        return PGB_OK;
    int rc = pgb_source_read(source->upstream, data, size, got);
    if (rc != PGB_OK)
        return rc;
    if (*got > 0)
        return digest_update(source->ctx, s->md, data, *got);
    if (size == 0)
        return PGB_OK; /* an empty request is not the end of the stream */
    if ((rc = digest_end(source->ctx, s->md, s->digest)) != PGB_OK)
        return rc;
    s->ended = 1;
    if (s->has_expected && memcmp(s->expected, s->digest, PGB_SHA256_SIZE) != 0) {
        s->mismatch = 1;
        return report_mismatch(s);
    }
    return PGB_OK;
}

static void sha256_source_destroy(pgb_source *source)
{
    struct sha256_source *s = (struct sha256_source *)source;
    EVP_MD_CTX_free(s->md);
    free(s->object_name);
    pgb_source_destroy(source->upstream);
    free(s);
}

static const struct pgb_source_ops sha256_source_ops = {sha256_source_read, sha256_source_destroy};

int pgb_sha256_source_new(pgb_ctx *ctx, pgb_source *upstream, const uint8_t *expected,
                          const char *object_name, pgb_source **out)
{
    struct sha256_source *s = calloc(1, sizeof(*s));
    if (!s)
        return pgb_error_nomem(ctx);
    s->object_name = pgb_text_dup(object_name ? object_name : "stream");
    if (!s->object_name) {
        free(s);
        return pgb_error_nomem(ctx);
    }
    int rc = digest_start(ctx, &s->md);
    if (rc != PGB_OK) {
        free(s->object_name);
        free(s);
        return rc;
    }
    if (expected) {
        s->has_expected = 1;
        memcpy(s->expected, expected, PGB_SHA256_SIZE);
    }
    s->base = (pgb_source){&sha256_source_ops, ctx, upstream};
    *out = &s->base;
    return PGB_OK;
}

int pgb_sha256_source_digest(const pgb_source *source, uint8_t out[PGB_SHA256_SIZE])
{
    const struct sha256_source *s = (const struct sha256_source *)source;
    if (!s->ended)
        return pgb_error_set(source->ctx, PGB_EINVALID,
                             "SHA-256 digest of %s asked for before the end of the stream",
                             s->object_name);
    memcpy(out, s->digest, PGB_SHA256_SIZE);
    return PGB_OK;
}
