#include "wal/wal_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/text.h"
#include "storage/storage.h"

enum { SEGMENT_NAME_LENGTH = 24, TIMELINE_LENGTH = 8, MARKER_MAX = 512, HASH_BUFFER_SIZE = 256 * 1024 };

static const char marker_format[] = "pgbackup WAL spool marker 1\nkind %s\ntarget %s\nname %s\nsha256 %s\n"
                                    "size %" PRIu64 "\n";

static const char *kind_word(int kind)
{
    return kind == PGB_WAL_SPOOL_PUSHED ? "pushed" : "fetched";
}

static const char *marker_suffix(int kind)
{
    return kind == PGB_WAL_SPOOL_PUSHED ? ".pushed" : ".fetched";
}

int pgb_wal_spool_init(struct pgb_wal_spool *spool, const struct pgb_repo *repo, const pgb_options *opts,
                       const char *beside)
{
    *spool = (struct pgb_wal_spool){0};
    const char *folder = NULL;
    if (opts)
        pgb_options_get(opts, "spool-dir", &folder);
    if (folder && *folder) {
        spool->folder = pgb_text_dup(folder);
    } else {
        const char *slash = strrchr(beside, '/');
        spool->folder = slash ? pgb_text_printf("%.*s/pgbackup.spool", (int)(slash - beside), beside)
                              : pgb_text_dup("pgbackup.spool");
    }
    if (!spool->folder)
        return pgb_error_nomem(repo->ctx);
    /* The NUL after each part keeps "a" + "bc" apart from "ab" + "c". */
    const char *storage = pgb_storage_name(repo->storage);
    uint8_t digest[32];
    unsigned int length = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, storage, strlen(storage) + 1) == 1 &&
             EVP_DigestUpdate(md, repo->id, strlen(repo->id) + 1) == 1 &&
             EVP_DigestUpdate(md, repo->cluster, strlen(repo->cluster) + 1) == 1 &&
             EVP_DigestFinal_ex(md, digest, &length) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        pgb_wal_spool_free(spool);
        return pgb_error_set(repo->ctx, PGB_ERROR, "cannot compute SHA-256: OpenSSL failed");
    }
    pgb_hex_encode(digest, sizeof(digest), spool->target);
    return PGB_OK;
}

void pgb_wal_spool_free(struct pgb_wal_spool *spool)
{
    free(spool->folder);
    *spool = (struct pgb_wal_spool){0};
}

char *pgb_wal_spool_path(const struct pgb_wal_spool *spool, const char *name, const char *suffix)
{
    return pgb_text_printf("%s/%s%s", spool->folder, name, suffix);
}

int pgb_wal_spool_create(const struct pgb_wal_spool *spool, char *why, size_t why_size)
{
    if (mkdir(spool->folder, 0700) == 0 || errno == EEXIST)
        return PGB_OK;
    snprintf(why, why_size, "cannot create the spool folder %s: %s", spool->folder, strerror(errno));
    return PGB_EIO;
}

static int marker_text(const struct pgb_wal_spool *spool, int kind, const char *name, const struct pgb_wal_sum *sum,
                       char out[MARKER_MAX])
{
    char sha[65];
    pgb_hex_encode(sum->sha256, sizeof(sum->sha256), sha);
    int n = snprintf(out, MARKER_MAX, marker_format, kind_word(kind), spool->target, name, sha, sum->size);
    return n > 0 && n < MARKER_MAX ? n : -1;
}

static int write_all(int fd, const char *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

/*
 * Not synced: a marker lost or torn by a crash is only not used (the server's
 * call then pushes or fetches as usual), and what it marks is durable already.
 */
int pgb_wal_spool_mark(const struct pgb_wal_spool *spool, int kind, const char *name, const struct pgb_wal_sum *sum,
                       char *why, size_t why_size)
{
    char text[MARKER_MAX];
    int length = marker_text(spool, kind, name, sum, text);
    if (length < 0) {
        snprintf(why, why_size, "cannot write the spool marker of %s: the name is too long", name);
        return PGB_EINVALID;
    }
    int rc = pgb_wal_spool_create(spool, why, why_size);
    if (rc != PGB_OK)
        return rc;
    char *final = pgb_wal_spool_path(spool, name, marker_suffix(kind));
    char *temp = pgb_text_printf("%s/.%s%s.XXXXXX", spool->folder, name, marker_suffix(kind));
    int fd = temp ? mkstemp(temp) : -1;
    if (!final || !temp) {
        snprintf(why, why_size, "out of memory");
        rc = PGB_ENOMEM;
    } else if (fd < 0 || write_all(fd, text, (size_t)length) != 0 || close(fd) != 0 || rename(temp, final) != 0) {
        snprintf(why, why_size, "cannot write the spool marker %s: %s", final, strerror(errno));
        rc = PGB_EIO;
        if (fd >= 0)
            unlink(temp);
    }
    free(temp);
    free(final);
    return rc;
}

int pgb_wal_spool_marked(const struct pgb_wal_spool *spool, int kind, const char *name, struct pgb_wal_sum *sum)
{
    char *path = pgb_wal_spool_path(spool, name, marker_suffix(kind));
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    free(path);
    if (fd < 0)
        return 0;
    char text[MARKER_MAX + 1];
    ssize_t got = read(fd, text, MARKER_MAX);
    close(fd);
    if (got <= 0 || got >= MARKER_MAX)
        return 0;
    text[got] = '\0';
    char word[16], target[65], named[65], sha[65];
    struct pgb_wal_sum read_sum = {0};
    if (sscanf(text, "pgbackup WAL spool marker 1\nkind %15s\ntarget %64s\nname %64s\nsha256 %64s\nsize %" SCNu64,
               word, target, named, sha, &read_sum.size) != 5 ||
        pgb_hex_decode(NULL, sha, read_sum.sha256, sizeof(read_sum.sha256)) != PGB_OK)
        return 0;
    /* Whole, and in the exact form this code writes: a torn or edited marker differs somewhere. */
    char expected[MARKER_MAX];
    int length = marker_text(spool, kind, name, &read_sum, expected);
    if (length < 0 || (size_t)length != (size_t)got || memcmp(expected, text, (size_t)got) != 0)
        return 0;
    *sum = read_sum;
    return 1;
}

void pgb_wal_spool_unmark(const struct pgb_wal_spool *spool, int kind, const char *name)
{
    char *marker = pgb_wal_spool_path(spool, name, marker_suffix(kind));
    if (marker)
        unlink(marker);
    free(marker);
    if (kind == PGB_WAL_SPOOL_FETCHED) {
        char *segment = pgb_wal_spool_path(spool, name, ".segment");
        if (segment)
            unlink(segment);
        free(segment);
    }
}

static int is_upper_hex(const char *text, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'A' && text[i] <= 'F')))
            return 0;
    return 1;
}

/* Whether entry (with its leading dot when a temporary file) is a spool file of kind; segment set to its name. */
static int entry_of_kind(const char *entry, int kind, const char **segment)
{
    if (entry[0] == '.')
        entry++;
    if (strlen(entry) <= SEGMENT_NAME_LENGTH || !is_upper_hex(entry, SEGMENT_NAME_LENGTH))
        return 0;
    const char *rest = entry + SEGMENT_NAME_LENGTH;
    const char *suffixes[] = {marker_suffix(kind), kind == PGB_WAL_SPOOL_FETCHED ? ".segment" : NULL};
    for (size_t i = 0; i < 2 && suffixes[i]; i++) {
        size_t n = strlen(suffixes[i]);
        if (strncmp(rest, suffixes[i], n) == 0 && (rest[n] == '\0' || rest[n] == '.')) {
            *segment = entry;
            return 1;
        }
    }
    return 0;
}

void pgb_wal_spool_clean(const struct pgb_wal_spool *spool, int kind, const char *name)
{
    DIR *dir = opendir(spool->folder);
    if (!dir)
        return;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        const char *segment = NULL;
        if (!entry_of_kind(e->d_name, kind, &segment))
            continue;
        int older = kind == PGB_WAL_SPOOL_PUSHED
                        ? strncmp(segment, name, SEGMENT_NAME_LENGTH) < 0
                        : strncmp(segment + TIMELINE_LENGTH, name + TIMELINE_LENGTH,
                                  SEGMENT_NAME_LENGTH - TIMELINE_LENGTH) < 0;
        if (older)
            unlinkat(dirfd(dir), e->d_name, 0);
    }
    closedir(dir);
}

int pgb_wal_spool_local_sum(const char *path, struct pgb_wal_sum *sum)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    uint8_t *buffer = NULL;
    EVP_MD_CTX *md = NULL;
    int rc = -1;
    if (fstat(fd, &st) != 0)
        goto done;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        goto done;
    }
    buffer = malloc(HASH_BUFFER_SIZE);
    md = EVP_MD_CTX_new();
    if (!buffer || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        errno = ENOMEM;
        goto done;
    }
    uint64_t total = 0;
    for (;;) {
        ssize_t got = read(fd, buffer, HASH_BUFFER_SIZE);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            goto done;
        if (got == 0)
            break;
        if (EVP_DigestUpdate(md, buffer, (size_t)got) != 1) {
            errno = EIO;
            goto done;
        }
        total += (uint64_t)got;
    }
    unsigned int length = 0;
    struct pgb_wal_sum computed = {.size = total};
    if (EVP_DigestFinal_ex(md, computed.sha256, &length) != 1) {
        errno = EIO;
        goto done;
    }
    *sum = computed;
    rc = 0;
done:
    EVP_MD_CTX_free(md);
    free(buffer);
    close(fd);
    return rc;
}
