#include "repo/keyring.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include <pgbackup/error.h>

#include "core/base64.h"
#include "core/error.h"
#include "pipeline/content_id.h"
#include "pipeline/key_files.h"
#include "pipeline/key_wrap.h"
#include "pipeline/x25519.h"
#include "repo/layout.h"
#include "repo/secret_files.h"
#include "storage/storage.h"

static json_t *b64(const uint8_t *data, size_t size)
{
    char *text = pgb_base64_encode(data, size);
    json_t *value = text ? json_string(text) : NULL;
    free(text);
    return value;
}

/* A keyed hash of a fixed text: proves a writer key right without revealing it. */
static int writer_key_check(pgb_ctx *ctx, const uint8_t writer[32], char out[PGB_CONTENT_ID_SIZE])
{
    struct pgb_keyset probe = {.encrypted = 1, .has_writer = 1};
    memcpy(probe.writer, writer, 32);
    int rc = pgb_content_id(ctx, &probe, "writer-key-check", "", 0, out);
    pgb_keyset_wipe(&probe);
    return rc;
}

static int seal_passphrase(pgb_ctx *ctx, const char *path, const struct pgb_keyring_secret *secret,
                           json_t *doc)
{
    char *passphrase = NULL;
    size_t length = 0;
    int rc = pgb_passphrase_file_read(ctx, path, &passphrase, &length);
    if (rc != PGB_OK)
        return rc;
    struct pgb_scrypt_params params = {PGB_SCRYPT_DEFAULT_N, PGB_SCRYPT_DEFAULT_R, PGB_SCRYPT_DEFAULT_P};
    uint8_t salt[PGB_KEYRING_SALT_SIZE], sealed[PGB_KEYRING_PASSPHRASE_SEALED_SIZE];
    rc = pgb_keyring_seal_passphrase(ctx, secret, passphrase, length, &params, salt, sealed);
    OPENSSL_cleanse(passphrase, length);
    free(passphrase);
    if (rc != PGB_OK)
        return rc;
    json_object_set_new(doc, "passphrase",
                        json_pack("{s:s, s:I, s:i, s:i, s:o, s:o}", "kdf", "scrypt", "n", (json_int_t)params.n, "r",
                                  (int)params.r, "p", (int)params.p, "salt", b64(salt, sizeof(salt)), "sealed",
                                  b64(sealed, sizeof(sealed))));
    return PGB_OK;
}

static int seal_recipient(pgb_ctx *ctx, const char *path, const struct pgb_keyring_secret *secret,
                          json_t *recipients)
{
    uint8_t public_key[32], ephemeral[32], sealed[PGB_KEYRING_RECIPIENT_SEALED_SIZE];
    int rc = pgb_key_file_read_public(ctx, path, public_key);
    if (rc == PGB_OK)
        rc = pgb_keyring_seal_recipient(ctx, secret, public_key, ephemeral, sealed);
    if (rc != PGB_OK)
        return rc;
    json_array_append_new(recipients, json_pack("{s:o, s:o, s:o}", "public_key", b64(public_key, 32), "ephemeral",
                                                b64(ephemeral, 32), "sealed", b64(sealed, sizeof(sealed))));
    return PGB_OK;
}

int pgb_keyring_create(pgb_storage *storage, const pgb_options *opts, struct pgb_keyset *keys,
                       int *has_passphrase, size_t *recipients)
{
    pgb_ctx *ctx = storage->ctx;
    const char *passphrase_file = NULL;
    pgb_options_get(opts, "passphrase-file", &passphrase_file);
    struct pgb_keyring_secret secret;
    uint8_t public_key[32];
    int rc = pgb_x25519_generate(ctx, public_key, secret.private_key);
    if (rc == PGB_OK)
        rc = pgb_data_key_generate(ctx, secret.writer_key);
    char check[PGB_CONTENT_ID_SIZE];
    if (rc == PGB_OK)
        rc = writer_key_check(ctx, secret.writer_key, check);
    json_t *doc = json_pack("{s:i, s:o, s:s}", "format_version", PGB_REPO_FORMAT_VERSION, "repository_public_key",
                            b64(public_key, 32), "writer_key_check", check);
    json_t *list = json_array();
    if (rc == PGB_OK && (!doc || !list))
        rc = pgb_error_nomem(ctx);
    if (rc == PGB_OK && passphrase_file)
        rc = seal_passphrase(ctx, passphrase_file, &secret, doc);
    const char *recipient = NULL;
    size_t count = 0;
    while (rc == PGB_OK && pgb_options_get_at(opts, "recipient", count, &recipient) == PGB_OK) {
        rc = seal_recipient(ctx, recipient, &secret, list);
        count++;
    }
    pgb_error_clear(ctx); /* the end of the recipient list is not an error */
    char *text = NULL;
    if (rc == PGB_OK) {
        json_object_set(doc, "recipients", list);
        text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        rc = text ? pgb_storage_put(storage, PGB_REPO_KEYRING, text, strlen(text), PGB_STORAGE_NO_OVERWRITE)
                  : pgb_error_nomem(ctx);
    }
    if (rc == PGB_OK) {
        *keys = (struct pgb_keyset){.encrypted = 1, .has_private = 1, .has_writer = 1};
        memcpy(keys->repository_public, public_key, 32);
        memcpy(keys->repository_private, secret.private_key, 32);
        memcpy(keys->writer, secret.writer_key, 32);
        *has_passphrase = passphrase_file != NULL;
        *recipients = count;
    }
    OPENSSL_cleanse(&secret, sizeof(secret));
    free(text);
    json_decref(list);
    json_decref(doc);
    return rc;
}

/* Decode base64 field name of obj into exactly size bytes. */
static int field(pgb_ctx *ctx, json_t *obj, const char *name, uint8_t *out, size_t size)
{
    const char *text = json_string_value(json_object_get(obj, name));
    size_t got = 0;
    if (!text || pgb_base64_decode(text, strlen(text), out, size, &got) != PGB_OK || got != size)
        return pgb_error_set(ctx, PGB_ECORRUPT, "keyring.json is damaged: field '%s' is missing or not %zu bytes of "
                             "base64", name, size);
    return PGB_OK;
}

static int unlock_passphrase(pgb_ctx *ctx, json_t *doc, const char *path, struct pgb_keyring_secret *secret)
{
    json_t *entry = json_object_get(doc, "passphrase");
    if (!json_is_object(entry))
        return pgb_error_set(ctx, PGB_EAUTH, "cannot decrypt: this repository has no passphrase (it is encrypted "
                             "to recipients: give --identity)");
    struct pgb_scrypt_params params = {(uint64_t)json_integer_value(json_object_get(entry, "n")),
                                       (uint32_t)json_integer_value(json_object_get(entry, "r")),
                                       (uint32_t)json_integer_value(json_object_get(entry, "p"))};
    uint8_t salt[PGB_KEYRING_SALT_SIZE], sealed[PGB_KEYRING_PASSPHRASE_SEALED_SIZE];
    int rc = field(ctx, entry, "salt", salt, sizeof(salt));
    if (rc == PGB_OK)
        rc = field(ctx, entry, "sealed", sealed, sizeof(sealed));
    char *passphrase = NULL;
    size_t length = 0;
    if (rc == PGB_OK)
        rc = pgb_passphrase_file_read(ctx, path, &passphrase, &length);
    if (rc == PGB_OK)
        rc = pgb_keyring_unseal_passphrase(ctx, passphrase, length, &params, salt, sealed, secret);
    if (passphrase)
        OPENSSL_cleanse(passphrase, length);
    free(passphrase);
    return rc;
}

static int unlock_identity(pgb_ctx *ctx, json_t *doc, const char *path, struct pgb_keyring_secret *secret)
{
    uint8_t private_key[32], public_key[32];
    int rc = pgb_key_file_read_private(ctx, path, private_key);
    if (rc == PGB_OK)
        rc = pgb_x25519_public_from_private(ctx, private_key, public_key);
    size_t i;
    json_t *entry;
    int found = 0;
    json_array_foreach(json_object_get(doc, "recipients"), i, entry)
    {
        uint8_t candidate[32], ephemeral[32], sealed[PGB_KEYRING_RECIPIENT_SEALED_SIZE];
        if (rc != PGB_OK || found)
            break;
        rc = field(ctx, entry, "public_key", candidate, 32);
        if (rc != PGB_OK || CRYPTO_memcmp(candidate, public_key, 32) != 0)
            continue;
        found = 1;
        rc = field(ctx, entry, "ephemeral", ephemeral, 32);
        if (rc == PGB_OK)
            rc = field(ctx, entry, "sealed", sealed, sizeof(sealed));
        if (rc == PGB_OK)
            rc = pgb_keyring_unseal_recipient(ctx, private_key, ephemeral, sealed, secret);
    }
    OPENSSL_cleanse(private_key, sizeof(private_key));
    if (rc == PGB_OK && !found)
        rc = pgb_error_set(ctx, PGB_EAUTH, "cannot decrypt: wrong key (identity %s is not a recipient of this "
                           "repository)", path);
    return rc;
}

static int unlock_writer(pgb_ctx *ctx, json_t *doc, const char *path, uint8_t writer[32])
{
    int rc = pgb_writer_key_file_read(ctx, path, writer);
    char check[PGB_CONTENT_ID_SIZE];
    if (rc == PGB_OK)
        rc = writer_key_check(ctx, writer, check);
    const char *expected = json_string_value(json_object_get(doc, "writer_key_check"));
    if (rc == PGB_OK && (!expected || strcmp(expected, check) != 0))
        rc = pgb_error_set(ctx, PGB_EAUTH, "cannot decrypt: wrong key (writer key %s does not belong to this "
                           "repository)", path);
    return rc;
}

int pgb_keyring_open(pgb_storage *storage, const pgb_options *opts, const char *default_writer_key,
                     struct pgb_keyset *keys)
{
    pgb_ctx *ctx = storage->ctx;
    char *text = NULL;
    size_t size = 0;
    int rc = pgb_storage_get(storage, PGB_REPO_KEYRING, (void **)&text, &size);
    if (rc != PGB_OK)
        return rc;
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    *keys = (struct pgb_keyset){.encrypted = 1};
    if (!doc)
        rc = pgb_error_set(ctx, PGB_ECORRUPT, "keyring.json in %s is damaged (not JSON)", pgb_storage_name(storage));
    if (rc == PGB_OK && json_integer_value(json_object_get(doc, "format_version")) != PGB_REPO_FORMAT_VERSION)
        rc = pgb_error_set(ctx, PGB_EUNSUPPORTED, "keyring.json in %s has format version %lld; this library reads %d",
                           pgb_storage_name(storage),
                           (long long)json_integer_value(json_object_get(doc, "format_version")),
                           PGB_REPO_FORMAT_VERSION);
    if (rc == PGB_OK)
        rc = field(ctx, doc, "repository_public_key", keys->repository_public, 32);

    const char *passphrase_file = NULL, *identity = NULL, *writer_key = NULL;
    pgb_options_get(opts, "passphrase-file", &passphrase_file);
    pgb_options_get(opts, "identity", &identity);
    pgb_options_get(opts, "writer-key", &writer_key);
    struct pgb_keyring_secret secret;
    if (rc == PGB_OK && (passphrase_file || identity)) {
        rc = passphrase_file ? unlock_passphrase(ctx, doc, passphrase_file, &secret)
                             : unlock_identity(ctx, doc, identity, &secret);
        /* Readers use the keyring's public key with the private one: they must be one pair. */
        uint8_t derived[32];
        if (rc == PGB_OK && pgb_x25519_public_from_private(ctx, secret.private_key, derived) == PGB_OK &&
            CRYPTO_memcmp(derived, keys->repository_public, 32) != 0)
            rc = pgb_error_set(ctx, PGB_ECORRUPT, "keyring.json in %s is damaged: its repository public key is not "
                               "the one of the private key it seals", pgb_storage_name(storage));
        if (rc == PGB_OK) {
            keys->has_private = keys->has_writer = 1;
            memcpy(keys->repository_private, secret.private_key, 32);
            memcpy(keys->writer, secret.writer_key, 32);
        }
    } else if (rc == PGB_OK && (writer_key || default_writer_key)) {
        rc = unlock_writer(ctx, doc, writer_key ? writer_key : default_writer_key, keys->writer);
        if (rc == PGB_ENOTFOUND && !writer_key)
            rc = PGB_EAUTH; /* no default writer key file: say what to give */
        keys->has_writer = rc == PGB_OK;
    } else if (rc == PGB_OK) {
        rc = PGB_EAUTH;
    }
    if (rc == PGB_EAUTH && pgb_ctx_errcode(ctx) != PGB_EAUTH)
        rc = pgb_error_set(ctx, PGB_EAUTH, "repository %s is encrypted: give --passphrase-file, --identity or "
                           "--writer-key", pgb_storage_name(storage));
    OPENSSL_cleanse(&secret, sizeof(secret));
    json_decref(doc);
    if (rc != PGB_OK)
        pgb_keyset_wipe(keys);
    return rc;
}
