/*
 * Key files (doc/repository-format.md, "Keys"): what keygen writes is what
 * the openssl command reads, the private key stays private (0600, never
 * overwritten, refused when others may read it), and mistakes are named. Also
 * the base64 that keyring.json stores keys in.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "core/base64.h"
#include "pipeline/key_files.h"
#include "pipeline/x25519.h"
#include "test_main.h"

static pgb_ctx *ctx;
static char dir[] = "/tmp/pgb_key_files_XXXXXX";
static char key_path[256], pub_path[256];

static int setup(void)
{
    if (pgb_ctx_new(&ctx) != PGB_OK || !mkdtemp(dir))
        return 1;
    snprintf(key_path, sizeof(key_path), "%s/repo.key", dir);
    snprintf(pub_path, sizeof(pub_path), "%s/repo.key.pub", dir);
    return pgb_key_files_generate(ctx, key_path);
}

static int teardown(void)
{
    char command[512];
    snprintf(command, sizeof(command), "rm -rf '%s'", dir);
    pgb_ctx_free(ctx);
    return system(command) != 0;
}

static int run(const char *format, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *format, ...)
{
    char command[1024];
    va_list ap;
    va_start(ap, format);
    vsnprintf(command, sizeof(command), format, ap);
    va_end(ap);
    return system(command);
}

/* The whole content of a small file, NUL-terminated; free it. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 8192);
    if (f && text)
        text[fread(text, 1, 8191, f)] = '\0';
    if (f)
        fclose(f);
    return text;
}

static void test_private_key_file_is_mode_0600_pkcs8(void)
{
    struct stat st;
    CU_ASSERT_FATAL(stat(key_path, &st) == 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    char *text = slurp(key_path);
    CU_ASSERT(strncmp(text, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    free(text);
    text = slurp(pub_path);
    CU_ASSERT(strncmp(text, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
    free(text);
}

static void test_openssl_reads_both_files_as_x25519(void)
{
    CU_ASSERT_EQUAL(run("openssl pkey -in '%s' -noout", key_path), 0);
    CU_ASSERT_EQUAL(run("openssl pkey -pubin -in '%s' -noout", pub_path), 0);
    CU_ASSERT_EQUAL(
        run("openssl pkey -in '%s' -noout -text | grep -q '^X25519 Private-Key'", key_path), 0);
    /* The public key openssl derives from the private file is the .pub file, byte for byte. */
    CU_ASSERT_EQUAL(run("openssl pkey -in '%s' -pubout | cmp -s - '%s'", key_path, pub_path), 0);
}

static void test_public_key_derived_from_private_is_the_pub_file(void)
{
    uint8_t private_key[32], derived[32], from_file[32];
    CU_ASSERT_EQUAL_FATAL(pgb_key_file_read_private(ctx, key_path, private_key), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_key_file_read_public(ctx, pub_path, from_file), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_x25519_public_from_private(ctx, private_key, derived), PGB_OK);
    CU_ASSERT(memcmp(derived, from_file, 32) == 0);
}

static void test_keys_made_by_openssl_are_read(void)
{
    char path[300], pub[310];
    uint8_t private_key[32], derived[32], from_file[32];
    snprintf(path, sizeof(path), "%s/openssl.key", dir);
    snprintf(pub, sizeof(pub), "%s/openssl.key.pub", dir);
    CU_ASSERT_FATAL(run("openssl genpkey -algorithm X25519 -out '%s' 2>/dev/null", path) == 0);
    CU_ASSERT_FATAL(chmod(path, 0600) == 0);
    CU_ASSERT_FATAL(run("openssl pkey -in '%s' -pubout -out '%s'", path, pub) == 0);
    CU_ASSERT_EQUAL(pgb_key_file_read_private(ctx, path, private_key), PGB_OK);
    CU_ASSERT_EQUAL(pgb_key_file_read_public(ctx, pub, from_file), PGB_OK);
    CU_ASSERT_EQUAL(pgb_x25519_public_from_private(ctx, private_key, derived), PGB_OK);
    CU_ASSERT(memcmp(derived, from_file, 32) == 0);
}

static void test_generate_refuses_to_overwrite(void)
{
    char *before = slurp(key_path);
    CU_ASSERT_EQUAL(pgb_key_files_generate(ctx, key_path), PGB_EEXISTS);
    CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), key_path) != NULL);
    char *after = slurp(key_path);
    CU_ASSERT_STRING_EQUAL(before, after);
    free(before);
    free(after);

    /* Only the .pub exists: refused, and no lone private key is left behind. */
    char path[300], pub[310];
    snprintf(path, sizeof(path), "%s/lonely.key", dir);
    snprintf(pub, sizeof(pub), "%s/lonely.key.pub", dir);
    FILE *f = fopen(pub, "w");
    CU_ASSERT_FATAL(f != NULL);
    fclose(f);
    CU_ASSERT_EQUAL(pgb_key_files_generate(ctx, path), PGB_EEXISTS);
    CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), pub) != NULL);
    CU_ASSERT(access(path, F_OK) != 0);
}

static void test_private_key_readable_by_others_is_refused(void)
{
    uint8_t raw[32];
    CU_ASSERT_FATAL(chmod(key_path, 0644) == 0);
    CU_ASSERT_EQUAL(pgb_key_file_read_private(ctx, key_path, raw), PGB_EINVALID);
    CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), key_path) != NULL);
    CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), "group or others") != NULL);
    CU_ASSERT_FATAL(chmod(key_path, 0640) == 0);
    CU_ASSERT_EQUAL(pgb_key_file_read_private(ctx, key_path, raw), PGB_EINVALID);
    CU_ASSERT_FATAL(chmod(key_path, 0600) == 0);
    CU_ASSERT_EQUAL(pgb_key_file_read_private(ctx, key_path, raw), PGB_OK);
    /* Public keys are public. */
    CU_ASSERT_FATAL(chmod(pub_path, 0644) == 0);
    CU_ASSERT_EQUAL(pgb_key_file_read_public(ctx, pub_path, raw), PGB_OK);
}

static void test_missing_file_is_named(void)
{
    char path[300];
    uint8_t raw[32];
    snprintf(path, sizeof(path), "%s/absent.key", dir);
    CU_ASSERT_EQUAL(pgb_key_file_read_private(ctx, path, raw), PGB_ENOTFOUND);
    CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), path) != NULL);
    CU_ASSERT_EQUAL(pgb_key_file_read_public(ctx, path, raw), PGB_ENOTFOUND);
    CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), path) != NULL);
    /* A directory that does not exist: nothing is made. */
    snprintf(path, sizeof(path), "%s/no/such/dir.key", dir);
    CU_ASSERT_EQUAL(pgb_key_files_generate(ctx, path), PGB_EIO);
    CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), path) != NULL);
}

static void test_other_kinds_of_key_are_refused(void)
{
    char path[300], pub[310];
    uint8_t raw[32];
    snprintf(path, sizeof(path), "%s/ed.key", dir);
    snprintf(pub, sizeof(pub), "%s/ed.key.pub", dir);
    CU_ASSERT_FATAL(run("openssl genpkey -algorithm ED25519 -out '%s' 2>/dev/null", path) == 0);
    CU_ASSERT_FATAL(chmod(path, 0600) == 0);
    CU_ASSERT_FATAL(run("openssl pkey -in '%s' -pubout -out '%s'", path, pub) == 0);
    CU_ASSERT_EQUAL(pgb_key_file_read_private(ctx, path, raw), PGB_EINVALID);
    CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), "is not an X25519 key") != NULL);
    CU_ASSERT_EQUAL(pgb_key_file_read_public(ctx, pub, raw), PGB_EINVALID);
    CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), "is not an X25519 key") != NULL);
    /* A public key where the private one is expected, and a file of something else. */
    CU_ASSERT_FATAL(chmod(pub, 0600) == 0);
    CU_ASSERT_EQUAL(pgb_key_file_read_private(ctx, pub, raw), PGB_EINVALID);
    CU_ASSERT(strstr(pgb_ctx_errmsg(ctx), pub) != NULL);
    CU_ASSERT_EQUAL(pgb_key_file_read_public(ctx, key_path, raw), PGB_EINVALID);
}

/* ---- base64 ---- */

static void test_base64_matches_rfc_4648(void)
{
    static const char *const vectors[][2] = {{"", ""},
                                             {"f", "Zg=="},
                                             {"fo", "Zm8="},
                                             {"foo", "Zm9v"},
                                             {"foob", "Zm9vYg=="},
                                             {"fooba", "Zm9vYmE="},
                                             {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const char *plain = vectors[i][0], *text = vectors[i][1];
        char *encoded = pgb_base64_encode((const uint8_t *)plain, strlen(plain));
        CU_ASSERT_STRING_EQUAL(encoded, text);
        CU_ASSERT_EQUAL(strlen(text), pgb_base64_encoded_length(strlen(plain)));
        free(encoded);
        uint8_t out[8];
        size_t size = 99;
        CU_ASSERT_EQUAL(pgb_base64_decode(text, strlen(text), out, sizeof(out), &size), PGB_OK);
        CU_ASSERT(size == strlen(plain) && memcmp(out, plain, size) == 0);
    }
}

static void test_base64_round_trips_keys(void)
{
    uint8_t data[100], back[100];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(data); n++) {
        char *text = pgb_base64_encode(data, n);
        size_t size = 0;
        CU_ASSERT_FATAL(text != NULL);
        CU_ASSERT_EQUAL(pgb_base64_decode(text, strlen(text), back, n, &size), PGB_OK);
        CU_ASSERT(size == n && memcmp(back, data, n) == 0);
        /* Exactly n bytes of room is enough, one less is not. */
        if (n > 0)
            CU_ASSERT_EQUAL(pgb_base64_decode(text, strlen(text), back, n - 1, &size),
                            PGB_EINVALID);
        free(text);
    }
}

static void test_base64_refuses_what_is_not_canonical(void)
{
    static const char *const bad[] = {
        "Zg=",  "Zg",   "Z===",     "Zh==", "Zm9=", " Zm9v",   "Zm9v\n",
        "Zm=v", "====", "Zm9v====", "Zm-v", "Zm_v", "Zm9vYg=a"};
    uint8_t out[16];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t size = 99;
        CU_ASSERT_EQUAL(pgb_base64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &size),
                        PGB_EINVALID);
        CU_ASSERT_EQUAL(size, 0);
    }
}

int main(void)
{
    CU_TestInfo files[] = {
        {"private_key_file_is_mode_0600_pkcs8", test_private_key_file_is_mode_0600_pkcs8},
        {"openssl_reads_both_files_as_x25519", test_openssl_reads_both_files_as_x25519},
        {"public_key_derived_from_private_is_the_pub_file",
         test_public_key_derived_from_private_is_the_pub_file},
        {"keys_made_by_openssl_are_read", test_keys_made_by_openssl_are_read},
        {"generate_refuses_to_overwrite", test_generate_refuses_to_overwrite},
        {"private_key_readable_by_others_is_refused",
         test_private_key_readable_by_others_is_refused},
        {"missing_file_is_named", test_missing_file_is_named},
        {"other_kinds_of_key_are_refused", test_other_kinds_of_key_are_refused},
        CU_TEST_INFO_NULL,
    };
    CU_TestInfo base64[] = {
        {"base64_matches_rfc_4648", test_base64_matches_rfc_4648},
        {"base64_round_trips_keys", test_base64_round_trips_keys},
        {"base64_refuses_what_is_not_canonical", test_base64_refuses_what_is_not_canonical},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"key_files", setup, teardown, NULL, NULL, files},
                             {"base64", NULL, NULL, NULL, NULL, base64},
                             CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
