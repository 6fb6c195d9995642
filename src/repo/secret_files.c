#include "repo/secret_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/text.h"

static int read_small_file(pgb_ctx *ctx, const char *what, const char *path, char *buffer, size_t size,
                           size_t *length)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pgb_error_set(ctx, errno == ENOENT ? PGB_ENOTFOUND : PGB_EIO, "cannot open %s %s: %s", what, path,
                             strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 0077))
        pgb_log(ctx, PGB_LOG_WARNING, "%s %s may be read by other users (mode %03o): chmod 600 it", what, path,
                (unsigned)(st.st_mode & 0777));
    ssize_t n = read(fd, buffer, size - 1);
    int saved = errno;
    close(fd);
    if (n < 0)
        return pgb_error_set(ctx, PGB_EIO, "cannot read %s %s: %s", what, path, strerror(saved));
    if ((size_t)n == size - 1)
        return pgb_error_set(ctx, PGB_EINVALID, "%s %s is too long (over %zu bytes)", what, path, size - 2);
    buffer[n] = '\0';
    while (n > 0 && (buffer[n - 1] == '\n' || buffer[n - 1] == '\r'))
        buffer[--n] = '\0';
    *length = (size_t)n;
    return PGB_OK;
}

int pgb_passphrase_file_read(pgb_ctx *ctx, const char *path, char **passphrase, size_t *length)
{
    char buffer[4096];
    int rc = read_small_file(ctx, "passphrase file", path, buffer, sizeof(buffer), length);
    if (rc == PGB_OK && *length == 0)
        rc = pgb_error_set(ctx, PGB_EINVALID, "passphrase file %s is empty", path);
    if (rc == PGB_OK && !(*passphrase = pgb_text_dup(buffer)))
        rc = pgb_error_nomem(ctx);
    OPENSSL_cleanse(buffer, sizeof(buffer));
    return rc;
}

static int make_folder(pgb_ctx *ctx, const char *path)
{
    char folder[PATH_MAX];
    snprintf(folder, sizeof(folder), "%s", path);
    for (char *p = folder + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(folder, 0700) != 0 && errno != EEXIST)
            return pgb_error_set(ctx, PGB_EIO, "cannot make folder %s: %s", folder, strerror(errno));
        *p = '/';
    }
    return PGB_OK;
}

int pgb_writer_key_file_write(pgb_ctx *ctx, const char *path, const uint8_t key[32])
{
    int rc = make_folder(ctx, path);
    if (rc != PGB_OK)
        return rc;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return pgb_error_set(ctx, errno == EEXIST ? PGB_EEXISTS : PGB_EIO, "cannot create writer key file %s: %s",
                             path, strerror(errno));
    char text[66];
    pgb_hex_encode(key, 32, text);
    text[64] = '\n';
    text[65] = '\0';
    int ok = write(fd, text, 65) == 65 && fsync(fd) == 0;
    int saved = errno;
    OPENSSL_cleanse(text, sizeof(text));
    close(fd);
    if (!ok) {
        unlink(path);
        return pgb_error_set(ctx, PGB_EIO, "cannot write writer key file %s: %s", path, strerror(saved));
    }
    return PGB_OK;
}

int pgb_writer_key_file_read(pgb_ctx *ctx, const char *path, uint8_t key[32])
{
    char buffer[256];
    size_t length = 0;
    int rc = read_small_file(ctx, "writer key file", path, buffer, sizeof(buffer), &length);
    if (rc == PGB_OK && (length != 64 || pgb_hex_decode(ctx, buffer, key, 32) != PGB_OK))
        rc = pgb_error_set(ctx, PGB_EINVALID, "writer key file %s does not hold a writer key (64 hex digits)", path);
    OPENSSL_cleanse(buffer, sizeof(buffer));
    return rc;
}

char *pgb_writer_key_default_path(const char *repository_id)
{
    const char *config = getenv("XDG_CONFIG_HOME");
    if (config && config[0] == '/')
        return pgb_text_printf("%s/pgbackup/%s.writer-key", config, repository_id);
    const char *home = getenv("HOME");
    return pgb_text_printf("%s/.config/pgbackup/%s.writer-key", home && *home ? home : ".", repository_id);
}
