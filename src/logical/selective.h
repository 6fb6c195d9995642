/*
 * Choosing the entries of a selective logical restore.
 *
 * pg_restore -t brings back a table's definition and data only; a table must
 * come back whole, and with what a DROP ... CASCADE of it removed. So the
 * entries are chosen here and fed to pg_restore -L. The map is the archive's
 * own: every TOC entry records the dump ids it depends on, taken from
 * pg_depend in pg_dump's snapshot (its first catalog OID is the catalog of the
 * object's kind, 1259 for pg_class, not the owning table, so it cannot serve).
 *
 * From each selected relation (or every object of a selected schema), what
 * depends on something chosen joins it, by kind:
 *  - parts of a relation (data, indexes, constraints, defaults, triggers,
 *    policies, row security, rules, statistics, partitions and their
 *    attachments, owned sequences with their OWNED BY and value, comments,
 *    grants, security labels): when every relation they need is chosen or
 *    exists in the target database;
 *  - what a DROP CASCADE removes beyond them (views and materialized views on
 *    it, foreign keys of other tables that point to it): when they are missing
 *    from the target database and every relation they need is chosen or
 *    exists there.
 * An object that exists in the target already is left alone and reported.
 */
#ifndef PGB_LOGICAL_SELECTIVE_H
#define PGB_LOGICAL_SELECTIVE_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "logical/archive_toc.h"

/* What the target database holds, by name: each list sorted, names joined by '\x1f'. */
struct pgb_target_objects {
    char **relations;   /* schema, relation (tables, views, sequences, indexes...) */
    size_t relation_count;
    char **constraints; /* schema, table, constraint */
    size_t constraint_count;
    char **schemas;
    size_t schema_count;
};

/* Read what conn's database holds. */
int pgb_target_objects_read(pgb_ctx *ctx, PGconn *conn, struct pgb_target_objects *out);
void pgb_target_objects_clear(struct pgb_target_objects *t);

struct pgb_selection_request {
    char **tables;  /* "schema.name" or "name" (any schema, if only one has it) */
    size_t table_count;
    char **schemas;
    size_t schema_count;
    int clean;      /* selected relations that exist are dropped and restored (pg_restore --clean) */
};

struct pgb_selection {
    char *wanted;       /* per entry of the TOC: 1 when restored */
    size_t count;       /* entries restored */
    char **analyze;     /* tables and materialized views restored, "schema\x1fname" */
    size_t analyze_count;
    json_t *objects;    /* ["TABLE shop.orders", "INDEX shop.orders_pkey", ...] */
    json_t *skipped;    /* [{"object": "VIEW shop.v", "reason": "..."}] */
};

/*
 * Choose the entries. target: what the target database holds (empty when it
 * will be created). PGB_ENOTFOUND for a table or schema the backup does not
 * have, PGB_EINVALID for a table name found in several schemas,
 * PGB_EREFUSED for a selected relation that exists in the target without
 * request->clean.
 */
int pgb_selection_make(pgb_ctx *ctx, const struct pgb_archive_toc *toc, const struct pgb_selection_request *request,
                       const struct pgb_target_objects *target, struct pgb_selection *out);

void pgb_selection_clear(struct pgb_selection *s);

#endif
