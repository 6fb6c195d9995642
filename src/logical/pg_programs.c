#include "logical/pg_programs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "logical/child_process.h"

/* pg_config on PATH, as a shell would find it. */
static int find_pg_config(char out[PATH_MAX])
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t length = strcspn(path, ":");
        if (length > 0 && length < PATH_MAX - 16) {
            snprintf(out, PATH_MAX, "%.*s/pg_config", (int)length, path);
            if (access(out, X_OK) == 0)
                return 1;
        }
        path += length + (path[length] == ':');
    }
    return 0;
}

static int find_bindir(pgb_ctx *ctx, const char *bindir_option, char bindir[PATH_MAX])
{
    if (bindir_option && *bindir_option) {
        if (access(bindir_option, X_OK) != 0)
            return pgb_error_set(ctx, PGB_ENOTFOUND, "the PostgreSQL programs folder %s (--pg-bindir) cannot be "
                                 "read: %s", bindir_option, strerror(errno));
        snprintf(bindir, PATH_MAX, "%s", bindir_option);
        return PGB_OK;
    }
    char pg_config[PATH_MAX];
    if (!find_pg_config(pg_config))
        return pgb_error_set(ctx, PGB_ENOTFOUND, "cannot find the PostgreSQL client programs: pg_config is not on "
                             "PATH; set --pg-bindir to the folder of pg_dump and pg_restore");
    const char *argv[] = {pg_config, "--bindir", NULL};
    char *output = NULL;
    int rc = pgb_child_run(ctx, argv, NULL, NULL, 0, &output, NULL);
    if (rc == PGB_OK) {
        pgb_text_trim(output);
        if (!*output || strlen(output) >= PATH_MAX)
            rc = pgb_error_set(ctx, PGB_ENOTFOUND, "%s --bindir named no folder; set --pg-bindir", pg_config);
        else
            snprintf(bindir, PATH_MAX, "%s", output);
    } else {
        pgb_error_prefix(ctx, "cannot find the PostgreSQL client programs (set --pg-bindir)");
    }
    free(output);
    return rc;
}

void pgb_pg_program_path(const struct pgb_pg_programs *p, const char *name, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%.*s/%s", PATH_MAX - 64, p->bindir, name);
}

int pgb_pg_program_major(const char *line)
{
    const char *p = line;
    while (*p && !isdigit((unsigned char)*p))
        p++;
    if (!*p)
        return -1;
    char *end = NULL;
    long first = strtol(p, &end, 10);
    if (first >= 10)
        return first > 1000 ? -1 : (int)first * 10000;
    long second = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
    return (int)(first * 10000 + second * 100);
}

static void format_major(int version_num, char *out, size_t size)
{
    if (version_num >= 100000)
        snprintf(out, size, "%d", version_num / 10000);
    else
        snprintf(out, size, "%d.%d", version_num / 10000, version_num / 100 % 100);
}

static int check_program(pgb_ctx *ctx, const struct pgb_pg_programs *p, const char *name, int server_version_num)
{
    char path[PATH_MAX];
    pgb_pg_program_path(p, name, path);
    if (access(path, X_OK) != 0)
        return pgb_error_set(ctx, PGB_ENOTFOUND, "missing PostgreSQL client program %s: %s (set --pg-bindir to the "
                             "folder of PostgreSQL's client programs)", path, strerror(errno));
    const char *argv[] = {path, "--version", NULL};
    char *output = NULL;
    int rc = pgb_child_run(ctx, argv, NULL, NULL, 0, &output, NULL);
    if (rc != PGB_OK)
        return rc;
    pgb_text_trim(output);
    int major = pgb_pg_program_major(output);
    int server_major = server_version_num >= 100000 ? server_version_num / 10000 * 10000
                                                    : server_version_num / 100 * 100;
    if (major < 0) {
        rc = pgb_error_set(ctx, PGB_EUNSUPPORTED, "cannot tell the version of %s from \"%s\"", path, output);
    } else if (major < server_major) {
        char mine[16], theirs[16];
        format_major(major, mine, sizeof(mine));
        format_major(server_major, theirs, sizeof(theirs));
        rc = pgb_error_set(ctx, PGB_EUNSUPPORTED, "%s is PostgreSQL %s, older than the server's %s: use programs of "
                           "version %s or newer (--pg-bindir)", path, mine, theirs, theirs);
    }
    free(output);
    return rc;
}

int pgb_pg_programs_find(pgb_ctx *ctx, const char *bindir_option, int server_version_num, const char *const *names,
                         struct pgb_pg_programs *out)
{
    memset(out, 0, sizeof(*out));
    int rc = find_bindir(ctx, bindir_option, out->bindir);
    for (size_t i = 0; rc == PGB_OK && names[i]; i++)
        rc = check_program(ctx, out, names[i], server_version_num);
    return rc;
}

/* Append " key='value'" with libpq's quoting of backslash and single quote. */
static int append_pair(char **text, size_t *size, size_t *capacity, const char *key, const char *value)
{
    size_t need = *size + strlen(key) + 2 * strlen(value) + 8;
    if (need > *capacity) {
        size_t grown = *capacity ? *capacity * 2 : 256;
        while (grown < need)
            grown *= 2;
        char *bigger = realloc(*text, grown);
        if (!bigger)
            return -1;
        *text = bigger;
        *capacity = grown;
    }
    char *p = *text + *size;
    if (*size)
        *p++ = ' ';
    p += sprintf(p, "%s='", key);
    for (const char *v = value; *v; v++) {
        if (*v == '\\' || *v == '\'')
            *p++ = '\\';
        *p++ = *v;
    }
    *p++ = '\'';
    *p = '\0';
    *size = (size_t)(p - *text);
    return 0;
}

static int rebuild(pgb_ctx *ctx, const char *conninfo, const char *dbname, int keep_password, char **out,
                   char **password)
{
    *out = NULL;
    if (password)
        *password = NULL;
    char *error = NULL;
    PQconninfoOption *options = PQconninfoParse(conninfo ? conninfo : "", &error);
    if (!options) {
        int rc = error ? pgb_error_set(ctx, PGB_EINVALID, "bad connection string: %s", pgb_text_trim(error))
                       : pgb_error_nomem(ctx);
        PQfreemem(error);
        return rc;
    }
    char *text = NULL;
    size_t size = 0, capacity = 0;
    /* Without a dbname of our own, the conninfo's (if any) comes from the loop. */
    int failed = dbname && append_pair(&text, &size, &capacity, "dbname", dbname) != 0;
    for (PQconninfoOption *o = options; !failed && o->keyword; o++) {
        if (!o->val || (dbname && strcmp(o->keyword, "dbname") == 0))
            continue;
        if (strcmp(o->keyword, "password") == 0 && !keep_password) {
            if (password && !(*password = pgb_text_dup(o->val)))
                failed = 1;
            continue;
        }
        failed = append_pair(&text, &size, &capacity, o->keyword, o->val) != 0;
    }
    PQconninfoFree(options);
    if (failed) {
        free(text);
        if (password) {
            free(*password);
            *password = NULL;
        }
        return pgb_error_nomem(ctx);
    }
    *out = text ? text : pgb_text_dup("");
    return *out ? PGB_OK : pgb_error_nomem(ctx);
}

int pgb_conninfo_for_program(pgb_ctx *ctx, const char *conninfo, const char *dbname, char **program_conninfo,
                             char **password)
{
    return rebuild(ctx, conninfo, dbname, 0, program_conninfo, password);
}

int pgb_conninfo_with_dbname(pgb_ctx *ctx, const char *conninfo, const char *dbname, char **out)
{
    return rebuild(ctx, conninfo, dbname, 1, out, NULL);
}

int pgb_program_env_make(pgb_ctx *ctx, const char *password, struct pgb_program_env *env)
{
    memset(env, 0, sizeof(*env));
    if (password && !(env->entries[0] = pgb_text_printf("PGPASSWORD=%s", password)))
        return pgb_error_nomem(ctx);
    return PGB_OK;
}

void pgb_program_env_clear(struct pgb_program_env *env)
{
    if (env->entries[0]) {
        /* A secret: do not leave it in freed memory. */
        memset(env->entries[0], 0, strlen(env->entries[0]));
        free(env->entries[0]);
    }
    env->entries[0] = NULL;
}
