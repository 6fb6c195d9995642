#include "pipeline/content_id.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <pgbackup/error.h>

#include "core/error.h"

static const char content_id_info[] = "pgbackup content id v1";

/* HKDF-SHA256(writer key, info) -> the HMAC key. */
static int derive_id_key(const uint8_t writer[32], uint8_t key[32])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)writer, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)content_id_info,
                                          sizeof(content_id_info) - 1),
        OSSL_PARAM_construct_end(),
    };
    int ok = kctx && EVP_KDF_derive(kctx, key, 32, params) == 1;
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return ok;
}

int pgb_keyset_prepare_id_key(pgb_ctx *ctx, struct pgb_keyset *keys)
{
    if (!keys->encrypted || !keys->has_writer || keys->has_id_key)
        return PGB_OK;
    if (!derive_id_key(keys->writer, keys->id_key))
        return pgb_error_set(ctx, PGB_ERROR, "cannot derive the content-id key: OpenSSL failed");
    keys->has_id_key = 1;
    return PGB_OK;
}

int pgb_content_id(pgb_ctx *ctx, const struct pgb_keyset *keys, const char *domain, const void *data,
                   size_t size, char out[PGB_CONTENT_ID_SIZE])
{
    uint8_t digest[32];
    unsigned int digest_len = 0;
    int ok;
    if (keys->encrypted) {
        if (!keys->has_writer)
            return pgb_error_set(ctx, PGB_EAUTH, "naming content in an encrypted repository needs the writer key");
        uint8_t key[32];
        ok = 1;
        if (keys->has_id_key)
            memcpy(key, keys->id_key, sizeof(key));
        else
            ok = derive_id_key(keys->writer, key);
        EVP_MAC *mac = ok ? EVP_MAC_fetch(NULL, "HMAC", NULL) : NULL;
        EVP_MAC_CTX *mctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                               OSSL_PARAM_construct_end()};
        size_t mac_len = 0;
        ok = mctx && EVP_MAC_init(mctx, key, sizeof(key), params) == 1 &&
             EVP_MAC_update(mctx, (const uint8_t *)domain, strlen(domain) + 1) == 1 &&
             EVP_MAC_update(mctx, data, size) == 1 && EVP_MAC_final(mctx, digest, &mac_len, sizeof(digest)) == 1;
        digest_len = (unsigned int)mac_len;
        EVP_MAC_CTX_free(mctx);
        EVP_MAC_free(mac);
        OPENSSL_cleanse(key, sizeof(key));
    } else {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, domain, strlen(domain) + 1) == 1 && EVP_DigestUpdate(md, data, size) == 1 &&
             EVP_DigestFinal_ex(md, digest, &digest_len) == 1;
        EVP_MD_CTX_free(md);
    }
    if (!ok || digest_len != 32)
        return pgb_error_set(ctx, PGB_ERROR, "cannot compute a content id: OpenSSL failed");
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[64] = '\0';
    return PGB_OK;
}
