/*
 * Finding PostgreSQL's client programs and what to hand them.
 *
 * The folder is the "pg-bindir" option or what `pg_config --bindir` says
 * (pg_config found on PATH). A program older than the server's major version
 * cannot dump it faithfully (pg_dump refuses newer servers itself, and an older
 * pg_restore does not know what a newer pg_dump wrote), so such programs are
 * refused, naming both versions.
 *
 * Connection parameters reach a program as a conninfo (-d) without the
 * password; the password goes into the child's environment as PGPASSWORD.
 */
#ifndef PGB_LOGICAL_PG_PROGRAMS_H
#define PGB_LOGICAL_PG_PROGRAMS_H

#include <limits.h>

#include <pgbackup/common.h>

struct pgb_pg_programs {
    char bindir[PATH_MAX];
};

/*
 * Find bindir (bindir_option, or pg_config --bindir) and check that every
 * program of names (NULL-terminated: "pg_dump", "pg_restore"...) is there,
 * runs, and is of server_version_num's major or newer. PGB_ENOTFOUND for a
 * missing folder or program, PGB_EUNSUPPORTED for one too old.
 */
int pgb_pg_programs_find(pgb_ctx *ctx, const char *bindir_option, int server_version_num, const char *const *names,
                         struct pgb_pg_programs *out);

/* "<bindir>/<name>" into out. */
void pgb_pg_program_path(const struct pgb_pg_programs *p, const char *name, char out[PATH_MAX]);

/*
 * The major version in a program's --version line, in server_version_num
 * units ("pg_dump (PostgreSQL) 15.4 (Debian ...)": 150000; "... 9.6.24":
 * 90600), or -1.
 */
int pgb_pg_program_major(const char *version_line);

/*
 * What a program gets from conninfo (a libpq conninfo or URI; NULL or ""
 * means environment only): *program_conninfo, a "key='value' ..." conninfo
 * without any password, with dbname replaced by dbname when that is not NULL;
 * *password, the password it held or NULL. Both freed with free().
 * PGB_EINVALID for a conninfo libpq cannot parse.
 */
int pgb_conninfo_for_program(pgb_ctx *ctx, const char *conninfo, const char *dbname, char **program_conninfo,
                             char **password);

/* conninfo with dbname replaced (the password kept), for this library's own connections; free with free(). */
int pgb_conninfo_with_dbname(pgb_ctx *ctx, const char *conninfo, const char *dbname, char **out);

/*
 * The environment a program runs with: "PGPASSWORD=<password>" when password
 * is not NULL (env[0], freed by pgb_program_env_clear), NULL-terminated.
 */
struct pgb_program_env {
    char *entries[2];
};
int pgb_program_env_make(pgb_ctx *ctx, const char *password, struct pgb_program_env *env);
void pgb_program_env_clear(struct pgb_program_env *env);

#endif
