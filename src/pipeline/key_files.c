#include "pipeline/key_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "pipeline/crypto_error.h"

/* Create path for writing; O_EXCL refuses an existing file or symbolic link. */
static int create_exclusive(pgb_ctx *ctx, const char *path, mode_t mode, FILE **out)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 && errno == EEXIST)
        return pgb_error_set(ctx, PGB_EEXISTS,
                             "key file %s exists already; refusing to overwrite it", path);
    if (fd < 0)
        return pgb_error_set(ctx, PGB_EIO, "cannot create key file %s: %s", path, strerror(errno));
    *out = fdopen(fd, "w");
    if (!*out) {
        int rc =
            pgb_error_set(ctx, PGB_EIO, "cannot create key file %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return rc;
    }
    return PGB_OK;
}

/* Flush to disk and close; a key that is lost in a crash is a repository lost. */
static int close_written(pgb_ctx *ctx, const char *path, FILE *f)
{
    int error = 0;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        error = errno;
    if (fclose(f) != 0 && !error)
        error = errno;
    if (error)
        return pgb_error_set(ctx, PGB_EIO, "cannot write key file %s: %s", path, strerror(error));
    return PGB_OK;
}

int pgb_key_files_generate(pgb_ctx *ctx, const char *path)
{
    int rc = PGB_OK, made_private = 0, made_public = 0;
    FILE *private_file = NULL, *public_file = NULL;
    /* stdio's buffer for the private key is ours, so that it can be wiped. */
    char private_buffer[BUFSIZ];
    char *public_path = pgb_text_printf("%s.pub", path);
    EVP_PKEY *pkey = NULL;
    if (!public_path) {
        rc = pgb_error_nomem(ctx);
        goto done;
    }
    if (!(pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519"))) {
        rc = pgb_crypto_error(ctx, PGB_ERROR, "cannot make an X25519 key pair");
        goto done;
    }
    if ((rc = create_exclusive(ctx, path, 0600, &private_file)) != PGB_OK)
        goto done;
    made_private = 1;
    setvbuf(private_file, private_buffer, _IOFBF, sizeof(private_buffer));
    if ((rc = create_exclusive(ctx, public_path, 0644, &public_file)) != PGB_OK)
        goto done;
    made_public = 1;
    /* PEM_write_PrivateKey without a cipher writes unencrypted PKCS#8 ("PRIVATE KEY"). */
    if (PEM_write_PrivateKey(private_file, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        rc = pgb_error_set(ctx, PGB_EIO, "cannot write key file %s: %s", path, strerror(errno));
        pgb_crypto_error_discard();
        goto done;
    }
    if (PEM_write_PUBKEY(public_file, pkey) != 1) {
        rc = pgb_error_set(ctx, PGB_EIO, "cannot write key file %s: %s", public_path,
                           strerror(errno));
        pgb_crypto_error_discard();
        goto done;
    }
    rc = close_written(ctx, path, private_file);
    private_file = NULL;
    if (rc == PGB_OK) {
        rc = close_written(ctx, public_path, public_file);
        public_file = NULL;
    }
done:
    if (private_file)
        fclose(private_file);
    if (public_file)
        fclose(public_file);
    /* Half a key pair is worse than none: the next attempt would refuse to overwrite it. */
    if (rc != PGB_OK && made_private)
        unlink(path);
    if (rc != PGB_OK && made_public)
        unlink(public_path);
    OPENSSL_cleanse(private_buffer, sizeof(private_buffer));
    EVP_PKEY_free(pkey);
    free(public_path);
    return rc;
}

/* Never ask for a passphrase on the terminal: encrypted key files are not ours. */
static int no_passphrase(char *buffer, int size, int writing, void *payload)
{
    (void)buffer, (void)size, (void)writing, (void)payload;
    return -1;
}

/* Open a key file; a private one must be reachable by its owner only (like ssh). */
static int open_key_file(pgb_ctx *ctx, const char *path, const char *kind, int is_private,
                         FILE **out)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return pgb_error_set(ctx, PGB_ENOTFOUND, "%s key file %s does not exist", kind, path);
    if (fd < 0)
        return pgb_error_set(ctx, PGB_EIO, "cannot open %s key file %s: %s", kind, path,
                             strerror(errno));
    int rc = PGB_OK;
    if (fstat(fd, &st) != 0)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot read %s key file %s: %s", kind, path,
                           strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = pgb_error_set(ctx, PGB_EINVALID, "%s key file %s is not a regular file", kind, path);
    else if (is_private && (st.st_mode & 077) != 0)
        rc = pgb_error_set(ctx, PGB_EINVALID,
                           "private key file %s may be read by group or others (mode %04o); "
                           "refusing it: run chmod 600 %s",
                           path, (unsigned)(st.st_mode & 07777), path);
    else if (!(*out = fdopen(fd, "r")))
        rc = pgb_error_set(ctx, PGB_EIO, "cannot read %s key file %s: %s", kind, path,
                           strerror(errno));
    if (rc != PGB_OK)
        close(fd);
    return rc;
}

/* The raw key of pkey, when it is an X25519 key; frees pkey. */
static int raw_x25519(pgb_ctx *ctx, const char *path, EVP_PKEY *pkey, int is_private,
                      uint8_t raw[32])
{
    int rc = PGB_OK;
    size_t size = 32;
    if (!EVP_PKEY_is_a(pkey, "X25519"))
        rc = pgb_error_set(
            ctx, PGB_EINVALID, "key file %s is not an X25519 key (its type is %s)", path,
            EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "another kind of key");
    else if ((is_private ? EVP_PKEY_get_raw_private_key(pkey, raw, &size)
                         : EVP_PKEY_get_raw_public_key(pkey, raw, &size)) != 1 ||
             size != 32) {
        OPENSSL_cleanse(raw, 32);
        rc = pgb_error_set(ctx, PGB_ERROR, "cannot read the X25519 key in %s", path);
        pgb_crypto_error_discard();
    }
    EVP_PKEY_free(pkey);
    return rc;
}

int pgb_key_file_read_private(pgb_ctx *ctx, const char *path, uint8_t raw[32])
{
    FILE *f = NULL;
    int rc = open_key_file(ctx, path, "private", 1, &f);
    if (rc != PGB_OK)
        return rc;
    char buffer[BUFSIZ]; /* stdio's buffer is ours, so that it can be wiped */
    setvbuf(f, buffer, _IOFBF, sizeof(buffer));
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    OPENSSL_cleanse(buffer, sizeof(buffer));
    if (!pkey) {
        pgb_crypto_error_discard();
        return pgb_error_set(ctx, PGB_EINVALID,
                             "private key file %s does not hold an unencrypted PEM private key",
                             path);
    }
    return raw_x25519(ctx, path, pkey, 1, raw);
}

int pgb_key_file_read_public(pgb_ctx *ctx, const char *path, uint8_t raw[32])
{
    FILE *f = NULL;
    int rc = open_key_file(ctx, path, "public", 0, &f);
    if (rc != PGB_OK)
        return rc;
    EVP_PKEY *pkey = PEM_read_PUBKEY(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!pkey) {
        pgb_crypto_error_discard();
        return pgb_error_set(ctx, PGB_EINVALID, "public key file %s does not hold a PEM public key",
                             path);
    }
    return raw_x25519(ctx, path, pkey, 0, raw);
}
