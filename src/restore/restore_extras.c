#include "restore/restore_extras.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/log.h"
#include "repo/file_list.h"

/* Write an object of the backup to path, streaming. */
static int object_to_file(struct pgb_repo *repo, const char *key, const char *path)
{
    pgb_ctx *ctx = repo->ctx;
    pgb_object_reader *r = NULL;
    int rc = pgb_object_reader_open(&r, repo->storage, key, &repo->keys, NULL);
    if (rc != PGB_OK)
        return rc;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        pgb_object_reader_close(r);
        return pgb_error_set(ctx, PGB_EIO, "cannot create %s: %s", path, strerror(errno));
    }
    uint8_t *buffer = malloc(1 << 20);
    size_t got = 0;
    rc = buffer ? PGB_OK : pgb_error_nomem(ctx);
    while (rc == PGB_OK && (rc = pgb_object_reader_read(r, buffer, 1 << 20, &got)) == PGB_OK && got)
        if (write(fd, buffer, got) != (ssize_t)got)
            rc = pgb_error_set(ctx, PGB_EIO, "cannot write %s: %s", path, strerror(errno));
    free(buffer);
    pgb_object_reader_close(r);
    if (close(fd) != 0 && rc == PGB_OK)
        rc = pgb_error_set(ctx, PGB_EIO, "cannot write %s: %s", path, strerror(errno));
    if (rc != PGB_OK)
        unlink(path);
    return rc;
}

struct wal_names {
    char **names;
    size_t count;
};

static int collect_wal(const char *key, uint64_t size, void *payload)
{
    (void)size;
    struct wal_names *w = payload;
    char **grown = realloc(w->names, (w->count + 1) * sizeof(*grown));
    if (!grown)
        return 1;
    w->names = grown;
    w->names[w->count] = strdup(key);
    return w->names[w->count++] == NULL;
}

static int restore_wal(struct pgb_repo *repo, json_t *record, const char *target)
{
    const char *id = json_string_value(json_object_get(record, "id"));
    char prefix[PGB_KEY_SIZE], folder[PATH_MAX];
    pgb_backup_content_key(repo, id, "wal/", prefix);
    snprintf(folder, sizeof(folder), "%s/pg_wal", target);
    if (mkdir(folder, 0700) != 0 && errno != EEXIST)
        return pgb_error_set(repo->ctx, PGB_EIO, "cannot make folder %s: %s", folder, strerror(errno));
    struct wal_names wal = {0};
    int rc = pgb_storage_list(repo->storage, prefix, collect_wal, &wal);
    size_t expected = (size_t)json_integer_value(json_object_get(json_object_get(record, "wal"), "count"));
    if (rc == PGB_OK && wal.count != expected)
        rc = pgb_error_set(repo->ctx, PGB_ECORRUPT, "backup %s should hold %zu WAL segments but %zu are in the "
                           "repository", id, expected, wal.count);
    for (size_t i = 0; rc == PGB_OK && i < wal.count; i++) {
        char path[PATH_MAX + 80];
        snprintf(path, sizeof(path), "%s/%s", folder, strrchr(wal.names[i], '/') + 1);
        rc = object_to_file(repo, wal.names[i], path);
    }
    for (size_t i = 0; i < wal.count; i++)
        free(wal.names[i]);
    free(wal.names);
    return rc;
}

/* Settings that point outside the restored data directory would make it start elsewhere, or not at all. */
static int neutralise_paths(pgb_ctx *ctx, const char *path)
{
    static const char *const settings[] = {"data_directory", "hba_file", "ident_file", "external_pid_file",
                                           "include_dir", NULL};
    FILE *in = fopen(path, "r");
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof(tmp), "%s.pgbackup-tmp", path);
    FILE *out = in ? fopen(tmp, "w") : NULL;
    if (!in || !out) {
        if (in)
            fclose(in);
        return pgb_error_set(ctx, PGB_EIO, "cannot rewrite %s: %s", path, strerror(errno));
    }
    char *line = NULL;
    size_t capacity = 0;
    while (getline(&line, &capacity, in) != -1) {
        const char *p = line + strspn(line, " \t");
        int hit = 0;
        for (int i = 0; settings[i] && !hit; i++)
            hit = strncmp(p, settings[i], strlen(settings[i])) == 0 &&
                  strchr(" \t=", p[strlen(settings[i])]) != NULL;
        if (hit)
            fputs("# disabled by pgbackup restore (points outside this data directory): ", out);
        fputs(line, out);
    }
    free(line);
    fclose(in);
    int failed = fclose(out) != 0 || rename(tmp, path) != 0;
    return failed ? pgb_error_set(ctx, PGB_EIO, "cannot rewrite %s", path) : PGB_OK;
}

static int restore_config(struct pgb_repo *repo, json_t *record, const char *target, const char *config_to)
{
    const char *id = json_string_value(json_object_get(record, "id"));
    size_t i;
    json_t *file;
    json_array_foreach(json_object_get(record, "config_files"), i, file)
    {
        const char *setting = json_string_value(json_object_get(file, "setting"));
        const char *original = json_string_value(json_object_get(file, "path"));
        const char *base = original ? strrchr(original, '/') : NULL;
        if (!setting || !base)
            continue;
        char key[PGB_KEY_SIZE], name[64], path[PATH_MAX];
        snprintf(name, sizeof(name), "config/%s", setting);
        pgb_backup_content_key(repo, id, name, key);
        int into_data = config_to == NULL;
        snprintf(path, sizeof(path), "%s%s", into_data ? target : config_to, base);
        if (into_data && access(path, F_OK) == 0)
            continue; /* the data directory has its own: keep it */
        if (!into_data)
            mkdir(config_to, 0700);
        int rc = object_to_file(repo, key, path);
        if (rc == PGB_OK && into_data && strcmp(setting, "config_file") == 0)
            rc = neutralise_paths(repo->ctx, path);
        if (rc != PGB_OK)
            return rc;
        pgb_log(repo->ctx, PGB_LOG_INFO, "%s of the backup (%s) restored as %s", setting, original, path);
    }
    return PGB_OK;
}

int pgb_restore_extras(struct pgb_repo *repo, json_t *record, const char *target, const char *config_to)
{
    const char *id = json_string_value(json_object_get(record, "id"));
    char key[PGB_KEY_SIZE], path[PATH_MAX];
    int rc = restore_wal(repo, record, target);
    if (rc == PGB_OK) {
        pgb_backup_content_key(repo, id, "backup_manifest", key);
        snprintf(path, sizeof(path), "%s/backup_manifest", target);
        rc = object_to_file(repo, key, path);
    }
    if (rc == PGB_OK)
        rc = restore_config(repo, record, target, config_to);
    return rc;
}
