#include "pipeline/digest_trailer.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"

static EVP_MD_CTX *start_digest(const uint8_t *header, size_t header_size)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md && (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(md, header, header_size) != 1)) {
        EVP_MD_CTX_free(md);
        md = NULL;
    }
    return md;
}

/* ---- writing ---- */

struct trailer_sink {
    pgb_sink base;
    EVP_MD_CTX *md;
};

static int trailer_sink_write(pgb_sink *sink, const uint8_t *data, size_t size)
{
    struct trailer_sink *t = (struct trailer_sink *)sink;
    if (EVP_DigestUpdate(t->md, data, size) != 1)
        return pgb_error_set(sink->ctx, PGB_ERROR, "SHA-256 failed in OpenSSL");
    return pgb_sink_write(sink->next, data, size);
}

static int trailer_sink_finish(pgb_sink *sink)
{
    struct trailer_sink *t = (struct trailer_sink *)sink;
    uint8_t digest[PGB_DIGEST_TRAILER_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(t->md, digest, &size) != 1 || size != sizeof(digest))
        return pgb_error_set(sink->ctx, PGB_ERROR, "SHA-256 failed in OpenSSL");
    int rc = pgb_sink_write(sink->next, digest, sizeof(digest));
    return rc == PGB_OK ? pgb_sink_finish(sink->next) : rc;
}

static void trailer_sink_destroy(pgb_sink *sink)
{
    struct trailer_sink *t = (struct trailer_sink *)sink;
    pgb_sink_destroy(sink->next);
    EVP_MD_CTX_free(t->md);
    free(t);
}

static const struct pgb_sink_ops trailer_sink_ops = {trailer_sink_write, trailer_sink_finish, trailer_sink_destroy};

int pgb_digest_trailer_sink_new(pgb_ctx *ctx, const uint8_t *header, size_t header_size, pgb_sink *next,
                                pgb_sink **out)
{
    struct trailer_sink *t = calloc(1, sizeof(*t));
    if (!t || !(t->md = start_digest(header, header_size))) {
        free(t);
        return pgb_error_nomem(ctx);
    }
    t->base = (pgb_sink){&trailer_sink_ops, ctx, next};
    *out = &t->base;
    return PGB_OK;
}

/* ---- reading ---- */

struct trailer_source {
    pgb_source base;
    EVP_MD_CTX *md;
    char *object_name;
    uint8_t held[PGB_DIGEST_TRAILER_SIZE]; /* the last bytes seen: maybe the trailer */
    size_t held_size;
    int ended;
};

static int check_trailer(struct trailer_source *t)
{
    uint8_t digest[PGB_DIGEST_TRAILER_SIZE];
    unsigned int size = 0;
    if (t->held_size < PGB_DIGEST_TRAILER_SIZE)
        return pgb_error_set(t->base.ctx, PGB_ECORRUPT, "object %s is damaged: it is truncated", t->object_name);
    if (EVP_DigestFinal_ex(t->md, digest, &size) != 1)
        return pgb_error_set(t->base.ctx, PGB_ERROR, "SHA-256 failed in OpenSSL");
    if (CRYPTO_memcmp(digest, t->held, sizeof(digest)) != 0)
        return pgb_error_set(t->base.ctx, PGB_ECORRUPT, "object %s is damaged: its stored bytes do not match "
                             "their checksum", t->object_name);
    return PGB_OK;
}

static int trailer_source_read(pgb_source *source, uint8_t *data, size_t size, size_t *got)
{
    struct trailer_source *t = (struct trailer_source *)source;
    *got = 0;
    if (t->ended || size == 0)
        return PGB_OK;
    /* Read more, then release all but the newest 32 bytes, which may be the trailer. */
    for (;;) {
        uint8_t buffer[16384];
        size_t want = size < sizeof(buffer) ? size : sizeof(buffer);
        size_t n = 0;
        int rc = pgb_source_read(source->upstream, buffer, want, &n);
        if (rc != PGB_OK)
            return rc;
        if (n == 0) {
            t->ended = 1;
            return check_trailer(t);
        }
        /* held || buffer: everything but its last 32 bytes may go out. */
        size_t total = t->held_size + n;
        size_t release = total > PGB_DIGEST_TRAILER_SIZE ? total - PGB_DIGEST_TRAILER_SIZE : 0;
        uint8_t joined[sizeof(t->held) + sizeof(buffer)];
        memcpy(joined, t->held, t->held_size);
        memcpy(joined + t->held_size, buffer, n);
        if (release > 0) {
            if (EVP_DigestUpdate(t->md, joined, release) != 1)
                return pgb_error_set(source->ctx, PGB_ERROR, "SHA-256 failed in OpenSSL");
            memcpy(data, joined, release);
        }
        t->held_size = total - release;
        memmove(t->held, joined + release, t->held_size);
        *got = release;
        if (release > 0)
            return PGB_OK;
    }
}

static void trailer_source_destroy(pgb_source *source)
{
    struct trailer_source *t = (struct trailer_source *)source;
    pgb_source_destroy(source->upstream);
    EVP_MD_CTX_free(t->md);
    free(t->object_name);
    free(t);
}

static const struct pgb_source_ops trailer_source_ops = {trailer_source_read, trailer_source_destroy};

int pgb_digest_trailer_source_new(pgb_ctx *ctx, const uint8_t *header, size_t header_size,
                                  const char *object_name, pgb_source *upstream, pgb_source **out)
{
    struct trailer_source *t = calloc(1, sizeof(*t));
    if (!t || !(t->md = start_digest(header, header_size)) || !(t->object_name = pgb_text_dup(object_name))) {
        if (t)
            EVP_MD_CTX_free(t->md);
        free(t);
        return pgb_error_nomem(ctx);
    }
    t->base = (pgb_source){&trailer_source_ops, ctx, upstream};
    *out = &t->base;
    return PGB_OK;
}
