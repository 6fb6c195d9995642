/*
 * Keys (doc/repository-format.md, "Wrapping the data key", "Keys"): data keys
 * wrapped into headers open only with the right key and the unchanged header,
 * the wrap is the one the spec describes, and the keyring's secret opens only
 * with the right passphrase or identity ("cannot decrypt: wrong key").
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <pgbackup/pgbackup.h>

#include "pipeline/key_wrap.h"
#include "pipeline/object_header.h"
#include "test_main.h"

#define NAME "catalog/backups/20261125T101500F.json"

static pgb_ctx *ctx;
static uint8_t repository_public[32], repository_private[32];
static uint8_t other_public[32], other_private[32];
static uint8_t writer_key[32], data_key[32];
static struct pgb_keyring_secret secret;
/* Small n so that the tests run fast; one test uses the default. */
static const struct pgb_scrypt_params fast = {1024, 8, 1};

static int setup(void)
{
    uint8_t secret_public[32];
    if (pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    return pgb_x25519_generate(ctx, repository_public, repository_private) ||
           pgb_x25519_generate(ctx, other_public, other_private) ||
           pgb_data_key_generate(ctx, writer_key) || pgb_data_key_generate(ctx, data_key) ||
           pgb_data_key_generate(ctx, secret.writer_key) ||
           pgb_x25519_generate(ctx, secret_public, secret.private_key);
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    return 0;
}

/* What a reader of the stored header gets: encode, then decode. */
static struct pgb_object_header stored(const struct pgb_object_header *h)
{
    struct pgb_object_header back;
    uint8_t raw[PGB_OBJECT_HEADER_MAX_SIZE];
    size_t size = 0, decoded = 0;
    CU_ASSERT_FATAL(pgb_object_header_encode(ctx, h, raw, &size) == PGB_OK);
    CU_ASSERT_FATAL(pgb_object_header_decode(ctx, NAME, raw, size, &back, &decoded) == PGB_OK);
    return back;
}

static void test_x25519_public_key_comes_from_the_private_key(void)
{
    uint8_t derived[32];
    CU_ASSERT_EQUAL(pgb_x25519_public_from_private(ctx, repository_private, derived), PGB_OK);
    CU_ASSERT(memcmp(derived, repository_public, 32) == 0);
    CU_ASSERT(memcmp(repository_public, other_public, 32) != 0);
}

static void test_repository_key_wrap_round_trips(void)
{
    struct pgb_object_header h, again;
    uint8_t unwrapped[32];
    pgb_object_header_init(&h, 1, PGB_CIPHER_NONE);
    CU_ASSERT_EQUAL_FATAL(pgb_data_key_wrap_for_repository(ctx, &h, data_key, repository_public),
                          PGB_OK);
    CU_ASSERT_EQUAL(h.cipher, PGB_CIPHER_REPOSITORY);
    struct pgb_object_header back = stored(&h);
    CU_ASSERT_EQUAL(pgb_data_key_unwrap(ctx, NAME, &back, repository_private, repository_public, NULL, unwrapped),
                    PGB_OK);
    CU_ASSERT(memcmp(unwrapped, data_key, 32) == 0);
    /* Each wrap has its own ephemeral key. */
    pgb_object_header_init(&again, 1, PGB_CIPHER_NONE);
    CU_ASSERT_EQUAL(pgb_data_key_wrap_for_repository(ctx, &again, data_key, repository_public),
                    PGB_OK);
    CU_ASSERT(memcmp(again.ephemeral_public, h.ephemeral_public, 32) != 0);
    CU_ASSERT(memcmp(again.wrapped_key, h.wrapped_key, 48) != 0);
}

static void test_repository_key_wrap_fails_with_another_key_or_header(void)
{
    struct pgb_object_header h;
    uint8_t unwrapped[32];
    pgb_object_header_init(&h, 1, PGB_CIPHER_NONE);
    CU_ASSERT_EQUAL_FATAL(pgb_data_key_wrap_for_repository(ctx, &h, data_key, repository_public),
                          PGB_OK);
    CU_ASSERT_EQUAL(pgb_data_key_unwrap(ctx, NAME, &h, other_private, repository_public, NULL, unwrapped),
                    PGB_ECORRUPT);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx),
                           "object " NAME " is damaged: its data key fails authentication");
    /* The first 8 header bytes are authenticated: another codec fails. */
    struct pgb_object_header changed = h;
    changed.codec = 3;
    CU_ASSERT_EQUAL(pgb_data_key_unwrap(ctx, NAME, &changed, repository_private, repository_public, NULL, unwrapped),
                    PGB_ECORRUPT);
    changed = h;
    changed.ephemeral_public[0] ^= 1;
    CU_ASSERT_EQUAL(pgb_data_key_unwrap(ctx, NAME, &changed, repository_private, repository_public, NULL, unwrapped),
                    PGB_ECORRUPT);
    changed = h;
    changed.wrapped_key[47] ^= 0x80;
    CU_ASSERT_EQUAL(pgb_data_key_unwrap(ctx, NAME, &changed, repository_private, repository_public, NULL, unwrapped),
                    PGB_ECORRUPT);
    /* A small-order point as the ephemeral key is damage too, not a crash. */
    changed = h;
    memset(changed.ephemeral_public, 0, 32);
    CU_ASSERT_EQUAL(pgb_data_key_unwrap(ctx, NAME, &changed, repository_private, repository_public, NULL, unwrapped),
                    PGB_ECORRUPT);
    /* Cipher 1 needs the private key. */
    CU_ASSERT_EQUAL(pgb_data_key_unwrap(ctx, NAME, &h, NULL, NULL, writer_key, unwrapped), PGB_EINVALID);
}

static void test_wrap_refuses_an_unusable_public_key(void)
{
    struct pgb_object_header h;
    uint8_t zero[32] = {0};
    pgb_object_header_init(&h, 0, PGB_CIPHER_NONE);
    CU_ASSERT_EQUAL(pgb_data_key_wrap_for_repository(ctx, &h, data_key, zero), PGB_EINVALID);
}

static void test_writer_key_wrap_round_trips_and_fails_with_another_key(void)
{
    struct pgb_object_header h, again;
    uint8_t unwrapped[32], wrong[32];
    pgb_object_header_init(&h, 2, PGB_CIPHER_NONE);
    CU_ASSERT_EQUAL_FATAL(pgb_data_key_wrap_for_writer(ctx, &h, data_key, writer_key), PGB_OK);
    CU_ASSERT_EQUAL(h.cipher, PGB_CIPHER_WRITER);
    struct pgb_object_header back = stored(&h);
    CU_ASSERT_EQUAL(pgb_data_key_unwrap(ctx, NAME, &back, NULL, NULL, writer_key, unwrapped), PGB_OK);
    CU_ASSERT(memcmp(unwrapped, data_key, 32) == 0);
    /* A random nonce for every wrap under the same key. */
    pgb_object_header_init(&again, 2, PGB_CIPHER_NONE);
    CU_ASSERT_EQUAL(pgb_data_key_wrap_for_writer(ctx, &again, data_key, writer_key), PGB_OK);
    CU_ASSERT(memcmp(again.wrap_nonce, h.wrap_nonce, 12) != 0);

    memcpy(wrong, writer_key, 32);
    wrong[31] ^= 1;
    CU_ASSERT_EQUAL(pgb_data_key_unwrap(ctx, NAME, &h, NULL, NULL, wrong, unwrapped), PGB_ECORRUPT);
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx),
                           "object " NAME " is damaged: its data key fails authentication");
    struct pgb_object_header changed = h;
    changed.wrap_nonce[3] ^= 4;
    CU_ASSERT_EQUAL(pgb_data_key_unwrap(ctx, NAME, &changed, NULL, NULL, writer_key, unwrapped),
                    PGB_ECORRUPT);
    changed = h;
    changed.codec = 0;
    CU_ASSERT_EQUAL(pgb_data_key_unwrap(ctx, NAME, &changed, NULL, NULL, writer_key, unwrapped),
                    PGB_ECORRUPT);
    CU_ASSERT_EQUAL(pgb_data_key_unwrap(ctx, NAME, &h, repository_private, repository_public, NULL, unwrapped),
                    PGB_EINVALID);
}

/* ---- the wraps are those of the spec, checked with OpenSSL directly ---- */

static int gcm_open(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, int aad_size,
                    const uint8_t *sealed, int size, uint8_t *plain)
{
    int n = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
             EVP_DecryptUpdate(c, NULL, &n, aad, aad_size) == 1 &&
             EVP_DecryptUpdate(c, plain, &n, sealed, size) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(sealed + size)) == 1 &&
             EVP_DecryptFinal_ex(c, plain + size, &n) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

/* X25519 then HKDF-SHA256, through EVP_PKEY_derive and the EVP_PKEY HKDF method. */
static int ecdh_hkdf(const uint8_t *own_private, const uint8_t *peer_public, const uint8_t *salt,
                     const char *info, uint8_t key[32])
{
    uint8_t secret_bytes[32];
    size_t secret_size = 32, key_size = 32;
    EVP_PKEY *own = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, own_private, 32);
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_public, 32);
    EVP_PKEY_CTX *d = EVP_PKEY_CTX_new(own, NULL);
    EVP_PKEY_CTX *h = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    int ok = d && h && EVP_PKEY_derive_init(d) == 1 && EVP_PKEY_derive_set_peer(d, peer) == 1 &&
             EVP_PKEY_derive(d, secret_bytes, &secret_size) == 1 && EVP_PKEY_derive_init(h) == 1 &&
             EVP_PKEY_CTX_set_hkdf_md(h, EVP_sha256()) == 1 &&
             EVP_PKEY_CTX_set1_hkdf_salt(h, salt, 64) == 1 &&
             EVP_PKEY_CTX_set1_hkdf_key(h, secret_bytes, 32) == 1 &&
             EVP_PKEY_CTX_add1_hkdf_info(h, (const unsigned char *)info, (int)strlen(info)) == 1 &&
             EVP_PKEY_derive(h, key, &key_size) == 1;
    EVP_PKEY_CTX_free(h);
    EVP_PKEY_CTX_free(d);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(own);
    return ok;
}

static void test_wraps_follow_the_spec(void)
{
    struct pgb_object_header h;
    uint8_t raw[PGB_OBJECT_HEADER_MAX_SIZE], aad[40], salt[64], key[32], plain[32];
    uint8_t zero_nonce[12] = {0};
    size_t size = 0;

    /* Cipher 1: HKDF(X25519(ephemeral, repository), salt = eph || repo,
     * info "pgbackup object key v1"), zero nonce, aad = header[0..8] || eph. */
    pgb_object_header_init(&h, 1, PGB_CIPHER_NONE);
    CU_ASSERT_FATAL(pgb_data_key_wrap_for_repository(ctx, &h, data_key, repository_public) ==
                    PGB_OK);
    CU_ASSERT_FATAL(pgb_object_header_encode(ctx, &h, raw, &size) == PGB_OK);
    memcpy(salt, raw + 8, 32);
    memcpy(salt + 32, repository_public, 32);
    CU_ASSERT_FATAL(ecdh_hkdf(repository_private, raw + 8, salt, "pgbackup object key v1", key));
    memcpy(aad, raw, 40);
    CU_ASSERT(gcm_open(key, zero_nonce, aad, 40, raw + 40, 32, plain));
    CU_ASSERT(memcmp(plain, data_key, 32) == 0);

    /* Cipher 2: writer key, nonce from the header, aad = header[0..8] || nonce. */
    pgb_object_header_init(&h, 3, PGB_CIPHER_NONE);
    CU_ASSERT_FATAL(pgb_data_key_wrap_for_writer(ctx, &h, data_key, writer_key) == PGB_OK);
    CU_ASSERT_FATAL(pgb_object_header_encode(ctx, &h, raw, &size) == PGB_OK);
    CU_ASSERT(gcm_open(writer_key, raw + 8, raw, 20, raw + 20, 32, plain));
    CU_ASSERT(memcmp(plain, data_key, 32) == 0);
}

static void test_recipient_seal_follows_the_spec(void)
{
    uint8_t ephemeral[32], sealed[PGB_KEYRING_RECIPIENT_SEALED_SIZE], salt[64], key[32];
    uint8_t plain[64], zero_nonce[12] = {0};
    CU_ASSERT_FATAL(
        pgb_keyring_seal_recipient(ctx, &secret, repository_public, ephemeral, sealed) == PGB_OK);
    memcpy(salt, ephemeral, 32);
    memcpy(salt + 32, repository_public, 32);
    CU_ASSERT_FATAL(ecdh_hkdf(repository_private, ephemeral, salt, "pgbackup recipient v1", key));
    CU_ASSERT(gcm_open(key, zero_nonce, NULL, 0, sealed, 64, plain));
    CU_ASSERT(memcmp(plain, secret.private_key, 32) == 0);
    CU_ASSERT(memcmp(plain + 32, secret.writer_key, 32) == 0);
}

static void test_passphrase_seal_follows_the_spec(void)
{
    uint8_t salt[16], sealed[PGB_KEYRING_PASSPHRASE_SEALED_SIZE], key[32], plain[64];
    size_t key_size = sizeof(key);
    CU_ASSERT_FATAL(pgb_keyring_seal_passphrase(ctx, &secret, "hunter2", 7, &fast, salt, sealed) ==
                    PGB_OK);
    /* scrypt through the EVP_PKEY method, not the EVP_KDF one the library uses. */
    EVP_PKEY_CTX *s = EVP_PKEY_CTX_new_id(EVP_PKEY_SCRYPT, NULL);
    CU_ASSERT_FATAL(
        s && EVP_PKEY_derive_init(s) == 1 && EVP_PKEY_CTX_set1_pbe_pass(s, "hunter2", 7) == 1 &&
        EVP_PKEY_CTX_set1_scrypt_salt(s, salt, 16) == 1 &&
        EVP_PKEY_CTX_set_scrypt_N(s, 1024) == 1 && EVP_PKEY_CTX_set_scrypt_r(s, 8) == 1 &&
        EVP_PKEY_CTX_set_scrypt_p(s, 1) == 1 && EVP_PKEY_derive(s, key, &key_size) == 1);
    EVP_PKEY_CTX_free(s);
    CU_ASSERT(gcm_open(key, sealed, NULL, 0, sealed + 12, 64, plain));
    CU_ASSERT(memcmp(plain, secret.private_key, 32) == 0);
    CU_ASSERT(memcmp(plain + 32, secret.writer_key, 32) == 0);
}

/* ---- the keyring's secret ---- */

static int same_secret(const struct pgb_keyring_secret *a, const struct pgb_keyring_secret *b)
{
    return memcmp(a->private_key, b->private_key, 32) == 0 &&
           memcmp(a->writer_key, b->writer_key, 32) == 0;
}

static void assert_wrong_key(int rc)
{
    CU_ASSERT_EQUAL(rc, PGB_EAUTH);
    CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), "cannot decrypt: wrong key") != NULL);
}

static void test_passphrase_seal_round_trips(void)
{
    struct pgb_keyring_secret opened;
    uint8_t salt[16], sealed[PGB_KEYRING_PASSPHRASE_SEALED_SIZE];
    uint8_t salt2[16], sealed2[PGB_KEYRING_PASSPHRASE_SEALED_SIZE];
    CU_ASSERT_EQUAL_FATAL(
        pgb_keyring_seal_passphrase(ctx, &secret, "correct horse", 13, &fast, salt, sealed),
        PGB_OK);
    CU_ASSERT_EQUAL(
        pgb_keyring_unseal_passphrase(ctx, "correct horse", 13, &fast, salt, sealed, &opened),
        PGB_OK);
    CU_ASSERT(same_secret(&opened, &secret));
    /* A fresh salt and nonce each time. */
    CU_ASSERT_EQUAL(
        pgb_keyring_seal_passphrase(ctx, &secret, "correct horse", 13, &fast, salt2, sealed2),
        PGB_OK);
    CU_ASSERT(memcmp(salt, salt2, 16) != 0);
    CU_ASSERT(memcmp(sealed, sealed2, sizeof(sealed)) != 0);
}

static void test_passphrase_seal_works_with_default_cost(void)
{
    const struct pgb_scrypt_params standard = {PGB_SCRYPT_DEFAULT_N, PGB_SCRYPT_DEFAULT_R,
                                               PGB_SCRYPT_DEFAULT_P};
    struct pgb_keyring_secret opened;
    uint8_t salt[16], sealed[PGB_KEYRING_PASSPHRASE_SEALED_SIZE];
    CU_ASSERT_EQUAL(standard.n, 32768);
    CU_ASSERT_EQUAL_FATAL(
        pgb_keyring_seal_passphrase(ctx, &secret, "s3cret", 6, &standard, salt, sealed), PGB_OK);
    CU_ASSERT_EQUAL(
        pgb_keyring_unseal_passphrase(ctx, "s3cret", 6, &standard, salt, sealed, &opened), PGB_OK);
    CU_ASSERT(same_secret(&opened, &secret));
}

static void test_wrong_passphrase_or_damage_is_wrong_key(void)
{
    struct pgb_keyring_secret opened;
    uint8_t salt[16], sealed[PGB_KEYRING_PASSPHRASE_SEALED_SIZE];
    CU_ASSERT_EQUAL_FATAL(
        pgb_keyring_seal_passphrase(ctx, &secret, "correct horse", 13, &fast, salt, sealed),
        PGB_OK);
    assert_wrong_key(
        pgb_keyring_unseal_passphrase(ctx, "correct hors", 12, &fast, salt, sealed, &opened));
    CU_ASSERT_STRING_EQUAL(pgb_ctx_errmsg(ctx), "cannot decrypt: wrong key (passphrase or identity "
                                                "does not match this repository)");
    assert_wrong_key(
        pgb_keyring_unseal_passphrase(ctx, "Correct horse", 13, &fast, salt, sealed, &opened));
    assert_wrong_key(pgb_keyring_unseal_passphrase(ctx, "", 0, &fast, salt, sealed, &opened));
    /* Other parameters derive another key. */
    const struct pgb_scrypt_params other = {2048, 8, 1};
    assert_wrong_key(
        pgb_keyring_unseal_passphrase(ctx, "correct horse", 13, &other, salt, sealed, &opened));
    /* A flipped byte in the nonce, the ciphertext, the tag or the salt. */
    static const size_t positions[] = {0, 11, 12, 40, 75, 76, 91};
    for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
        sealed[positions[i]] ^= 1;
        assert_wrong_key(
            pgb_keyring_unseal_passphrase(ctx, "correct horse", 13, &fast, salt, sealed, &opened));
        sealed[positions[i]] ^= 1;
    }
    salt[15] ^= 1;
    assert_wrong_key(
        pgb_keyring_unseal_passphrase(ctx, "correct horse", 13, &fast, salt, sealed, &opened));
}

static void test_scrypt_parameters_are_checked(void)
{
    struct pgb_keyring_secret opened;
    uint8_t salt[16] = {0}, sealed[PGB_KEYRING_PASSPHRASE_SEALED_SIZE] = {0};
    const struct pgb_scrypt_params not_power = {1000, 8, 1}, no_r = {1024, 0, 1};
    const struct pgb_scrypt_params huge = {UINT64_C(1) << 30, 8, 1};
    CU_ASSERT_EQUAL(pgb_keyring_seal_passphrase(ctx, &secret, "x", 1, &not_power, salt, sealed),
                    PGB_EINVALID);
    CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), "n=1000") != NULL);
    CU_ASSERT_EQUAL(pgb_keyring_seal_passphrase(ctx, &secret, "x", 1, &no_r, salt, sealed),
                    PGB_EINVALID);
    CU_ASSERT_EQUAL(pgb_keyring_seal_passphrase(ctx, &secret, "", 0, &fast, salt, sealed),
                    PGB_EINVALID);
    /* Read from a keyring: nonsense is damage, a huge cost is refused before it is tried. */
    CU_ASSERT_EQUAL(pgb_keyring_unseal_passphrase(ctx, "x", 1, &not_power, salt, sealed, &opened),
                    PGB_ECORRUPT);
    CU_ASSERT_EQUAL(pgb_keyring_unseal_passphrase(ctx, "x", 1, &huge, salt, sealed, &opened),
                    PGB_EUNSUPPORTED);
}

static void test_recipient_seal_opens_only_with_its_identity(void)
{
    struct pgb_keyring_secret opened;
    uint8_t ephemeral_a[32], sealed_a[PGB_KEYRING_RECIPIENT_SEALED_SIZE];
    uint8_t ephemeral_b[32], sealed_b[PGB_KEYRING_RECIPIENT_SEALED_SIZE];
    uint8_t b_public[32], b_private[32];
    CU_ASSERT_FATAL(pgb_x25519_generate(ctx, b_public, b_private) == PGB_OK);
    /* Two recipients of one keyring. */
    CU_ASSERT_EQUAL_FATAL(
        pgb_keyring_seal_recipient(ctx, &secret, repository_public, ephemeral_a, sealed_a), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_keyring_seal_recipient(ctx, &secret, b_public, ephemeral_b, sealed_b),
                          PGB_OK);
    CU_ASSERT_EQUAL(
        pgb_keyring_unseal_recipient(ctx, repository_private, ephemeral_a, sealed_a, &opened),
        PGB_OK);
    CU_ASSERT(same_secret(&opened, &secret));
    memset(&opened, 0, sizeof(opened));
    CU_ASSERT_EQUAL(pgb_keyring_unseal_recipient(ctx, b_private, ephemeral_b, sealed_b, &opened),
                    PGB_OK);
    CU_ASSERT(same_secret(&opened, &secret));
    /* Each identity opens only its own entry. */
    assert_wrong_key(pgb_keyring_unseal_recipient(ctx, b_private, ephemeral_a, sealed_a, &opened));
    assert_wrong_key(
        pgb_keyring_unseal_recipient(ctx, repository_private, ephemeral_b, sealed_b, &opened));
    assert_wrong_key(
        pgb_keyring_unseal_recipient(ctx, other_private, ephemeral_a, sealed_a, &opened));
    /* Damage cannot be told from a wrong identity. */
    sealed_a[5] ^= 1;
    assert_wrong_key(
        pgb_keyring_unseal_recipient(ctx, repository_private, ephemeral_a, sealed_a, &opened));
    sealed_a[5] ^= 1;
    sealed_a[79] ^= 1;
    assert_wrong_key(
        pgb_keyring_unseal_recipient(ctx, repository_private, ephemeral_a, sealed_a, &opened));
    sealed_a[79] ^= 1;
    ephemeral_a[0] ^= 1;
    assert_wrong_key(
        pgb_keyring_unseal_recipient(ctx, repository_private, ephemeral_a, sealed_a, &opened));
    memset(ephemeral_a, 0, 32);
    assert_wrong_key(
        pgb_keyring_unseal_recipient(ctx, repository_private, ephemeral_a, sealed_a, &opened));
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"x25519_public_key_comes_from_the_private_key",
         test_x25519_public_key_comes_from_the_private_key},
        {"repository_key_wrap_round_trips", test_repository_key_wrap_round_trips},
        {"repository_key_wrap_fails_with_another_key_or_header",
         test_repository_key_wrap_fails_with_another_key_or_header},
        {"wrap_refuses_an_unusable_public_key", test_wrap_refuses_an_unusable_public_key},
        {"writer_key_wrap_round_trips_and_fails_with_another_key",
         test_writer_key_wrap_round_trips_and_fails_with_another_key},
        {"wraps_follow_the_spec", test_wraps_follow_the_spec},
        {"recipient_seal_follows_the_spec", test_recipient_seal_follows_the_spec},
        {"passphrase_seal_follows_the_spec", test_passphrase_seal_follows_the_spec},
        {"passphrase_seal_round_trips", test_passphrase_seal_round_trips},
        {"passphrase_seal_works_with_default_cost", test_passphrase_seal_works_with_default_cost},
        {"wrong_passphrase_or_damage_is_wrong_key", test_wrong_passphrase_or_damage_is_wrong_key},
        {"scrypt_parameters_are_checked", test_scrypt_parameters_are_checked},
        {"recipient_seal_opens_only_with_its_identity",
         test_recipient_seal_opens_only_with_its_identity},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"key_wrap", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
