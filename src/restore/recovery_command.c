#include "restore/recovery_command.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pgbackup/error.h>
#include <pgbackup/storage.h>

#include "core/error.h"
#include "core/text.h"
#include "restore/recovery_config.h"

/* Options restore_command needs, besides repo and cluster; those marked path are made absolute. */
static const struct {
    const char *name;
    int path;
} carried[] = {{"identity", 1},      {"passphrase-file", 1},  {"s3-endpoint", 0},      {"s3-region", 0},
               {"s3-uri-style", 0},  {"s3-ca-file", 1},       {"s3-no-verify-tls", 0}, {"sftp-key", 1},
               {"sftp-known-hosts", 1}, {"s3-credentials-file", 1}, {"s3-profile", 0},
               {"s3-conditional-write", 0}, {"storage-timeout", 0}};

/* A value as another process in another folder reads it: a local path made absolute. */
static char *absolute(const char *value, int is_path)
{
    if (!is_path || value[0] == '/' || strstr(value, "://"))
        return pgb_text_dup(value);
    char resolved[PATH_MAX];
    return realpath(value, resolved) ? pgb_text_dup(resolved) : pgb_text_dup(value);
}

static int add_line(char **text, const char *name, const char *value, int is_path)
{
    char *plain = absolute(value, is_path);
    char *grown = plain ? pgb_text_printf("%s%s = \"%s\"\n", *text, name, plain) : NULL;
    free(plain);
    if (!grown)
        return -1;
    free(*text);
    *text = grown;
    return 0;
}

int pgb_recovery_fetch_config(struct pgb_repo *repo, const pgb_options *opts, char **text)
{
    pgb_ctx *ctx = repo->ctx;
    *text = NULL;
    const char *url = NULL, *value = NULL;
    if (opts)
        pgb_options_get(opts, "repo", &url);
    if (!url)
        url = pgb_storage_name(repo->storage);
    if (!url || (url[0] != '/' && !strstr(url, "://") && access(url, F_OK) != 0))
        return pgb_error_set(ctx, PGB_EINVALID, "restore_command must reach repository '%s' from the restored "
                             "server: give option repo as a path or URL", url ? url : "?");
    int keyed = 0;
    char *out = pgb_text_printf("# pgbackup settings of restore_command (written by restore; no secrets)\n");
    int failed = !out || add_line(&out, "repo", url, 1) || add_line(&out, "cluster", repo->cluster, 0);
    for (size_t i = 0; !failed && i < sizeof(carried) / sizeof(carried[0]); i++) {
        value = NULL;
        if (!opts || pgb_options_get(opts, carried[i].name, &value) != PGB_OK || !value)
            continue;
        keyed |= strcmp(carried[i].name, "identity") == 0 || strcmp(carried[i].name, "passphrase-file") == 0;
        failed = add_line(&out, carried[i].name, value, carried[i].path);
    }
    if (failed) {
        free(out);
        return pgb_error_nomem(ctx);
    }
    if (!keyed && strcmp(repo->encryption, "none") != 0) {
        free(out);
        return pgb_error_set(ctx, PGB_EINVALID, "repository is encrypted (%s): restore_command reads WAL with a key "
                             "file, so give option identity or passphrase-file", repo->encryption);
    }
    *text = out;
    return PGB_OK;
}

/* "pgbackup" in a folder of PATH, into out. */
static int find_on_path(char out[PATH_MAX])
{
    const char *path = getenv("PATH");
    for (const char *p = path; p && *p;) {
        size_t len = strcspn(p, ":");
        if (len > 0 && len < PATH_MAX - 16) {
            snprintf(out, PATH_MAX, "%.*s/pgbackup", (int)len, p);
            if (access(out, X_OK) == 0)
                return 0;
        }
        p += len + (p[len] == ':');
    }
    return -1;
}

int pgb_recovery_restore_command(pgb_ctx *ctx, const pgb_options *opts, const char *config_path, char **command)
{
    *command = NULL;
    const char *program = NULL;
    if (opts)
        pgb_options_get(opts, "program", &program);
    char found[PATH_MAX];
    if (program) {
        if (!realpath(program, found) || access(found, X_OK) != 0)
            return pgb_error_set(ctx, PGB_EINVALID, "program %s is not an executable file: restore_command runs it",
                                 program);
    } else if (find_on_path(found) != 0) {
        return pgb_error_set(ctx, PGB_EINVALID, "restore_command runs 'pgbackup wal-fetch', and pgbackup is not on "
                             "PATH: set option program to its path");
    }
    char *quoted_program = pgb_shell_quote(found);
    char *quoted_config = pgb_shell_quote(config_path);
    *command = quoted_program && quoted_config
                   ? pgb_text_printf("%s --config %s wal-fetch %%f %%p", quoted_program, quoted_config)
                   : NULL;
    free(quoted_program);
    free(quoted_config);
    return *command ? PGB_OK : pgb_error_nomem(ctx);
}
