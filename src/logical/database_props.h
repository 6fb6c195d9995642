/*
 * A database's own properties, recorded at backup time (database.json) so that
 * a restore can create it again, under its name or another: pg_restore -C
 * always creates the name stored in the archive, so this library creates the
 * database itself and restores into it.
 *
 * Recorded: name, encoding, collate, ctype, locale provider and ICU/builtin
 * locale (and ICU rules), owner, ACL, comment, connection limit, tablespace,
 * its settings (ALTER DATABASE SET) and role settings in it (ALTER ROLE IN
 * DATABASE SET).
 */
#ifndef PGB_LOGICAL_DATABASE_PROPS_H
#define PGB_LOGICAL_DATABASE_PROPS_H

#include <jansson.h>
#include <libpq-fe.h>

#include <pgbackup/common.h>

/* The properties of database name on conn's server; PGB_ENOTFOUND when it does not exist. */
int pgb_database_props_read(pgb_ctx *ctx, PGconn *conn, const char *name, json_t **out);

/*
 * The statements that make database target like props on conn's server, in
 * order: CREATE DATABASE (from template0, owner, encoding, locale, tablespace,
 * connection limit) first, which must run alone; then comment, grants and
 * settings. NULL-terminated array of malloc'd strings in *statements (free
 * with pgb_statements_free). Roles the properties name must exist:
 * PGB_ENOTFOUND names the first missing one.
 */
int pgb_database_props_sql(pgb_ctx *ctx, PGconn *conn, json_t *props, const char *target, char ***statements);

void pgb_statements_free(char **statements);

/*
 * "name TO value" for a setconfig item "name=value", quoted as pg_dump's
 * makeAlterConfigCommand does: list variables (search_path...) split and
 * each element a literal. NULL when out of memory.
 */
char *pgb_setting_clause(PGconn *conn, const char *item);

#endif
