/*
 * pgb_verify_dir(): a plain backup directory against its backup_manifest, in
 * pg_verifybackup's order (src/bin/pg_verifybackup/pg_verifybackup.c): parse
 * the manifest, walk the directory, report what is missing, recompute the
 * checksums, check the WAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pgbackup/error.h>
#include <pgbackup/manifest.h>
#include <pgbackup/options.h>

#include "core/context.h"
#include "core/error.h"
#include "core/text.h"
#include "manifest/verify_dir.h"

/* pg_verifybackup's ignore list, always on; each covers its subtree too. */
static const char *const ignored_paths[] = {"backup_manifest", "pg_wal", "postgresql.auto.conf", "recovery.signal",
                                            "standby.signal"};

int pgb_verify_is_ignored(const char *relative_path)
{
    for (size_t i = 0; i < sizeof(ignored_paths) / sizeof(ignored_paths[0]); i++) {
        size_t length = strlen(ignored_paths[i]);
        if (strncmp(relative_path, ignored_paths[i], length) == 0 &&
            (relative_path[length] == '\0' || relative_path[length] == '/'))
            return 1;
    }
    return 0;
}

int pgb_verify_add(struct verify_state *state, const char *kind, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = pgb_text_vprintf(fmt, ap);
    va_end(ap);
    int rc = message ? pgb_verify_report_add(state->report, kind, path, message) : PGB_ENOMEM;
    free(message);
    return rc == PGB_OK ? PGB_OK : pgb_error_nomem(state->ctx);
}

static int report_missing(struct verify_state *state)
{
    int rc = PGB_OK;
    size_t count = pgb_manifest_file_count(state->manifest);
    for (size_t i = 0; rc == PGB_OK && i < count; i++) {
        const char *path = pgb_manifest_file_at(state->manifest, i)->path;
        if (state->file_states[i] == VERIFY_FILE_UNSEEN && !pgb_verify_is_ignored(path))
            rc = pgb_verify_add(state, PGB_FINDING_MISSING, path, "\"%s\" is present in the manifest but not on disk",
                                path);
    }
    return rc;
}

/*
 * A version 2 manifest names the cluster (PostgreSQL 17 checks it too):
 * system_identifier is the first field of ControlFileData in global/pg_control.
 */
static int check_system_identifier(struct verify_state *state)
{
    if (pgb_manifest_version(state->manifest) < 2)
        return PGB_OK;
    const struct pgb_manifest_file *control = pgb_manifest_find(state->manifest, "global/pg_control");
    if (!control || state->file_states[pgb_manifest_file_index(state->manifest, control)] != VERIFY_FILE_SEEN)
        return PGB_OK; /* already reported as missing or of the wrong size */
    char *path = pgb_text_printf("%s/global/pg_control", state->root);
    if (!path)
        return pgb_error_nomem(state->ctx);
    uint64_t on_disk = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, &on_disk, sizeof(on_disk)) : -1;
    if (fd >= 0)
        close(fd);
    free(path);
    uint64_t expected = pgb_manifest_system_identifier(state->manifest);
    if (got == (ssize_t)sizeof(on_disk) && on_disk != expected)
        return pgb_verify_add(state, PGB_FINDING_MANIFEST, "global/pg_control",
                              "manifest system identifier is %" PRIu64 ", but control file has %" PRIu64, expected,
                              on_disk);
    return PGB_OK;
}

static int read_jobs(pgb_ctx *ctx, const pgb_options *opts, int *jobs)
{
    *jobs = 1;
    if (!opts)
        return PGB_OK;
    int64_t value = 1;
    if (pgb_options_get_int(opts, "jobs", &value) != PGB_OK)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_verify_dir: the option set is not valid");
    *jobs = value < 1 ? 1 : value > 256 ? 256 : (int)value;
    return PGB_OK;
}

static int open_manifest(pgb_ctx *ctx, const char *dir, struct pgb_manifest **manifest)
{
    char *path = pgb_text_printf("%s/backup_manifest", dir);
    if (!path)
        return pgb_error_nomem(ctx);
    int rc = pgb_manifest_read_file(ctx, path, manifest);
    /* A backup without its manifest is a backup missing a piece. */
    if (rc == PGB_ENOTFOUND)
        rc = pgb_error_set(ctx, PGB_ECORRUPT, "%s has no backup_manifest: cannot verify it", dir);
    free(path);
    return rc;
}

static int check_directory(pgb_ctx *ctx, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return pgb_error_set(ctx, errno == ENOENT ? PGB_ENOTFOUND : PGB_EIO, "cannot verify %s: %s", dir,
                             strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return pgb_error_set(ctx, PGB_EINVALID, "cannot verify %s: not a directory", dir);
    return PGB_OK;
}

static int run_checks(struct verify_state *state, int jobs)
{
    int rc = pgb_verify_walk(state);
    if (rc == PGB_OK)
        rc = report_missing(state);
    if (rc == PGB_OK)
        rc = check_system_identifier(state);
    if (rc == PGB_OK)
        rc = pgb_verify_checksums(state, jobs);
    if (rc == PGB_OK)
        rc = pgb_verify_wal(state);
    if (rc == PGB_OK && pgb_verify_report_seal(state->report) != PGB_OK)
        rc = pgb_error_nomem(state->ctx);
    return rc;
}

int pgb_verify_dir(pgb_verify_report **out, pgb_ctx *ctx, const char *dir, const pgb_options *opts)
{
    if (!pgb_ctx_is_valid(ctx))
        return PGB_EINVALID;
    pgb_error_clear(ctx);
    if (!out)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_verify_dir: out is NULL");
    *out = NULL;
    if (!dir || !dir[0])
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_verify_dir: no directory given");
    int jobs = 1;
    int rc = read_jobs(ctx, opts, &jobs);
    if (rc == PGB_OK)
        rc = check_directory(ctx, dir);
    struct pgb_manifest *manifest = NULL;
    if (rc == PGB_OK)
        rc = open_manifest(ctx, dir, &manifest);
    if (rc != PGB_OK)
        return rc;

    struct verify_state state = {ctx, dir, manifest, pgb_verify_report_new(dir), NULL};
    size_t count = pgb_manifest_file_count(manifest);
    state.file_states = calloc(count ? count : 1, 1);
    rc = state.report && state.file_states ? run_checks(&state, jobs) : pgb_error_nomem(ctx);
    free(state.file_states);
    pgb_manifest_free(manifest);
    if (rc != PGB_OK) {
        pgb_verify_report_free(state.report);
        return rc;
    }
    *out = state.report;
    return PGB_OK;
}
