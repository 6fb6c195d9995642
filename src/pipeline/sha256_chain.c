/*
 * OpenSSL's EVP interface hides the hash state; the low-level SHA256_CTX
 * (deprecated since 3.0, still shipped and using the same SHA-NI/AVX code)
 * is the only way to read and set it.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "pipeline/sha256_chain.h"

#include <string.h>

#include <openssl/sha.h>

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((struct pgb_sha256_chain *)0)->state),
               "SHA256_CTX does not fit in struct pgb_sha256_chain");

static SHA256_CTX *ctx_of(struct pgb_sha256_chain *c)
{
    return (SHA256_CTX *)(void *)c->state;
}

static const SHA256_CTX *const_ctx_of(const struct pgb_sha256_chain *c)
{
    return (const SHA256_CTX *)(const void *)c->state;
}

static uint64_t offset_of(const SHA256_CTX *s)
{
    return (((uint64_t)s->Nh << 32) | s->Nl) / 8;
}

void pgb_sha256_chain_start(struct pgb_sha256_chain *c)
{
    SHA256_Init(ctx_of(c));
}

int pgb_sha256_chain_resume(struct pgb_sha256_chain *c, const uint8_t link[PGB_SHA256_LINK_SIZE], uint64_t offset)
{
    if (offset % PGB_SHA256_BLOCK != 0)
        return -1;
    SHA256_CTX *s = ctx_of(c);
    SHA256_Init(s);
    for (int i = 0; i < 8; i++)
        s->h[i] = (SHA_LONG)link[4 * i] << 24 | (SHA_LONG)link[4 * i + 1] << 16 | (SHA_LONG)link[4 * i + 2] << 8 |
                  (SHA_LONG)link[4 * i + 3];
    uint64_t bits = offset * 8;
    s->Nl = (SHA_LONG)(bits & 0xffffffffu);
    s->Nh = (SHA_LONG)(bits >> 32);
    return 0;
}

void pgb_sha256_chain_update(struct pgb_sha256_chain *c, const void *data, size_t size)
{
    if (size)
        SHA256_Update(ctx_of(c), data, size);
}

int pgb_sha256_chain_link(const struct pgb_sha256_chain *c, uint8_t out[PGB_SHA256_LINK_SIZE])
{
    const SHA256_CTX *s = const_ctx_of(c);
    if (s->num != 0 || offset_of(s) % PGB_SHA256_BLOCK != 0)
        return -1;
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
    return 0;
}

void pgb_sha256_chain_final(struct pgb_sha256_chain *c, uint8_t out[32])
{
    SHA256_Final(out, ctx_of(c));
}
