/*
 * Splitting a SQL script as pg_dumpall writes it into statements that can be
 * run one by one: ';' ends a statement outside quotes ('...', E'...',
 * "...", $tag$...$tag$) and comments (--, nested / * * /); lines that begin a
 * statement with a backslash are psql meta-commands (\connect, \restrict)
 * and are left out. The script comes from a backup: a parser of outside
 * input, fuzzed (tests/fuzz/fuzz_sql_script.c).
 */
#ifndef PGB_LOGICAL_SQL_SCRIPT_H
#define PGB_LOGICAL_SQL_SCRIPT_H

#include <stddef.h>

#include <pgbackup/common.h>

/*
 * The statements of script (size bytes), trimmed, without their ';'; those
 * with nothing but comments are left out. *statements is NULL-terminated;
 * free it with pgb_sql_statements_free.
 */
int pgb_sql_split(pgb_ctx *ctx, const char *script, size_t size, char ***statements, size_t *count);

void pgb_sql_statements_free(char **statements);

#endif
