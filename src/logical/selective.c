#include "logical/selective.h"

#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "pg/connection.h"

#define SEPARATOR "\x1f"

static const char *const relation_kinds[] = {"TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE", "SEQUENCE",
                                             NULL};
static const char *const constraint_kinds[] = {"CONSTRAINT", "CHECK CONSTRAINT", "FK CONSTRAINT", NULL};
/* Parts of a relation: restored with it when what they need is there. */
static const char *const part_kinds[] = {"TABLE DATA", "INDEX", "INDEX ATTACH", "DEFAULT", "TRIGGER", "POLICY",
                                         "ROW SECURITY", "RULE", "STATISTICS", "TABLE ATTACH",
                                         "MATERIALIZED VIEW DATA", "SEQUENCE OWNED BY", "SEQUENCE SET", "COMMENT",
                                         "ACL", "SECURITY LABEL", NULL};
/* Not worth a line in the report: they follow their object. */
static const char *const quiet_kinds[] = {"TABLE DATA", "COMMENT", "ACL", "SECURITY LABEL", "SEQUENCE SET",
                                          "SEQUENCE OWNED BY", "DEFAULT", "ROW SECURITY", "INDEX ATTACH",
                                          "TABLE ATTACH", "MATERIALIZED VIEW DATA", NULL};

static int is_kind(const char *desc, const char *const *kinds)
{
    for (size_t i = 0; kinds[i]; i++)
        if (strcmp(desc, kinds[i]) == 0)
            return 1;
    return 0;
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int contains(char **list, size_t count, const char *key)
{
    return count && key && bsearch(&key, list, count, sizeof(*list), compare_text) != NULL;
}

/* ---- what the target holds ---- */

static int read_list(pgb_ctx *ctx, PGconn *conn, const char *sql, char ***out, size_t *count)
{
    PGresult *res = NULL;
    int rc = pgb_pg_query(ctx, conn, sql, &res);
    *out = NULL;
    *count = 0;
    if (rc != PGB_OK)
        return rc;
    size_t n = (size_t)PQntuples(res);
    char **list = calloc(n + 1, sizeof(*list));
    if (!list)
        rc = pgb_error_nomem(ctx);
    for (size_t i = 0; rc == PGB_OK && i < n; i++)
        if (!(list[i] = pgb_text_dup(PQgetvalue(res, (int)i, 0))))
            rc = pgb_error_nomem(ctx);
    PQclear(res);
    if (rc != PGB_OK) {
        for (size_t i = 0; list && i < n; i++)
            free(list[i]);
        free(list);
        return rc;
    }
    qsort(list, n, sizeof(*list), compare_text);
    *out = list;
    *count = n;
    return PGB_OK;
}

int pgb_target_objects_read(pgb_ctx *ctx, PGconn *conn, struct pgb_target_objects *out)
{
    memset(out, 0, sizeof(*out));
    int rc = read_list(ctx, conn,
                       "SELECT n.nspname || E'\\x1f' || c.relname FROM pg_class c"
                       " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind <> 't'",
                       &out->relations, &out->relation_count);
    if (rc == PGB_OK)
        rc = read_list(ctx, conn,
                       "SELECT n.nspname || E'\\x1f' || c.relname || E'\\x1f' || con.conname FROM pg_constraint con"
                       " JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace",
                       &out->constraints, &out->constraint_count);
    if (rc == PGB_OK)
        rc = read_list(ctx, conn, "SELECT nspname FROM pg_namespace", &out->schemas, &out->schema_count);
    if (rc != PGB_OK)
        pgb_target_objects_clear(out);
    return rc;
}

static void free_list(char **list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    free(list);
}

void pgb_target_objects_clear(struct pgb_target_objects *t)
{
    free_list(t->relations, t->relation_count);
    free_list(t->constraints, t->constraint_count);
    free_list(t->schemas, t->schema_count);
    memset(t, 0, sizeof(*t));
}

/* ---- choosing ---- */

struct chooser {
    pgb_ctx *ctx;
    const struct pgb_archive_toc *toc;
    const struct pgb_target_objects *target;
    int *by_id; /* entry indexes sorted by dump id */
    char *wanted;
};

static int compare_ids(const void *a, const void *b, void *entries)
{
    const struct pgb_archive_entry *e = entries;
    int x = e[*(const int *)a].id, y = e[*(const int *)b].id;
    return (x > y) - (x < y);
}

static long entry_of(const struct chooser *c, int id)
{
    size_t low = 0, high = c->toc->count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        int found = c->toc->entries[c->by_id[middle]].id;
        if (found == id)
            return c->by_id[middle];
        if (found < id)
            low = middle + 1;
        else
            high = middle;
    }
    return -1;
}

static char *join2(const char *a, const char *b)
{
    return pgb_text_printf("%s" SEPARATOR "%s", a ? a : "", b ? b : "");
}

/* The table a constraint is on and its own name, from its tag "table name" and the TABLE it depends on. */
static void constraint_names(const struct chooser *c, const struct pgb_archive_entry *e, char *table, size_t size,
                             const char **name)
{
    size_t best = 0;
    for (size_t i = 0; i < e->dep_count; i++) {
        long d = entry_of(c, e->deps[i]);
        const struct pgb_archive_entry *dep = d >= 0 ? &c->toc->entries[d] : NULL;
        if (!dep || !is_kind(dep->desc, relation_kinds) ||
            strcmp(dep->namespace ? dep->namespace : "", e->namespace ? e->namespace : "") != 0)
            continue;
        size_t length = strlen(dep->tag);
        if (length > best && strncmp(e->tag, dep->tag, length) == 0 && e->tag[length] == ' ')
            best = length;
    }
    if (!best) {
        const char *space = strchr(e->tag, ' ');
        best = space ? (size_t)(space - e->tag) : strlen(e->tag);
    }
    snprintf(table, size, "%.*s", (int)best, e->tag);
    *name = e->tag[best] ? e->tag + best + 1 : "";
}

static int exists(const struct chooser *c, const struct pgb_archive_entry *e)
{
    if (is_kind(e->desc, relation_kinds) || strcmp(e->desc, "INDEX") == 0) {
        char *key = join2(e->namespace, e->tag);
        int found = contains(c->target->relations, c->target->relation_count, key);
        free(key);
        return found;
    }
    if (is_kind(e->desc, constraint_kinds)) {
        char table[512];
        const char *name;
        constraint_names(c, e, table, sizeof(table), &name);
        char *key = pgb_text_printf("%s" SEPARATOR "%s" SEPARATOR "%s", e->namespace ? e->namespace : "", table, name);
        int found = contains(c->target->constraints, c->target->constraint_count, key);
        free(key);
        return found;
    }
    if (strcmp(e->desc, "SCHEMA") == 0)
        return contains(c->target->schemas, c->target->schema_count, e->tag);
    return 0;
}

static char *describe(const struct pgb_archive_entry *e)
{
    return pgb_text_printf("%s %s%s%s", e->desc, e->namespace ? e->namespace : "", e->namespace ? "." : "", e->tag);
}

static int any_dep_wanted(const struct chooser *c, const struct pgb_archive_entry *e)
{
    for (size_t i = 0; i < e->dep_count; i++) {
        long d = entry_of(c, e->deps[i]);
        if (d >= 0 && c->wanted[d])
            return 1;
    }
    return 0;
}

/* NULL when e can be restored; else why not (free with free()). */
static char *why_not(const struct chooser *c, const struct pgb_archive_entry *e)
{
    int kind_known = is_kind(e->desc, relation_kinds) || is_kind(e->desc, constraint_kinds) ||
                     is_kind(e->desc, part_kinds);
    if (!kind_known)
        return pgb_text_printf("a selective restore does not bring back a %s", e->desc);
    if (exists(c, e))
        return pgb_text_dup("it exists in the target database");
    for (size_t i = 0; i < e->dep_count; i++) {
        long d = entry_of(c, e->deps[i]);
        if (d < 0 || c->wanted[d])
            continue;
        const struct pgb_archive_entry *dep = &c->toc->entries[d];
        int checked = is_kind(dep->desc, relation_kinds) || is_kind(dep->desc, constraint_kinds) ||
                      strcmp(dep->desc, "INDEX") == 0;
        if (checked && !exists(c, dep)) {
            char *name = describe(dep);
            char *why = pgb_text_printf("it needs %s, which is neither restored nor in the target database",
                                        name ? name : dep->tag);
            free(name);
            return why;
        }
    }
    return NULL;
}

static int add_text(json_t *array, char *text)
{
    int rc = text && json_array_append_new(array, json_string(text)) == 0 ? 0 : -1;
    free(text);
    return rc;
}

static int split_table(const char *arg, char *schema, size_t size, const char **name)
{
    const char *dot = strchr(arg, '.');
    if (!dot) {
        schema[0] = '\0';
        *name = arg;
        return 0;
    }
    snprintf(schema, size, "%.*s", (int)(dot - arg), arg);
    *name = dot + 1;
    return 1;
}

/* Mark the schema's own entry when the schema is missing from the target. */
static void want_schema(struct chooser *c, const char *schema)
{
    if (!schema || contains(c->target->schemas, c->target->schema_count, schema))
        return;
    for (size_t i = 0; i < c->toc->count; i++)
        if (strcmp(c->toc->entries[i].desc, "SCHEMA") == 0 && strcmp(c->toc->entries[i].tag, schema) == 0)
            c->wanted[i] = 1;
}

static int choose_tables(struct chooser *c, const struct pgb_selection_request *r)
{
    for (size_t t = 0; t < r->table_count; t++) {
        char schema[256];
        const char *name;
        int qualified = split_table(r->tables[t], schema, sizeof(schema), &name);
        long found = -1;
        for (size_t i = 0; i < c->toc->count; i++) {
            const struct pgb_archive_entry *e = &c->toc->entries[i];
            if (!is_kind(e->desc, relation_kinds) || strcmp(e->tag, name) != 0 ||
                (qualified && strcmp(e->namespace ? e->namespace : "", schema) != 0))
                continue;
            if (found >= 0)
                return pgb_error_set(c->ctx, PGB_EINVALID, "table %s is in several schemas of the backup (%s, %s): "
                                     "name it as SCHEMA.TABLE", name, c->toc->entries[found].namespace,
                                     e->namespace);
            found = (long)i;
        }
        if (found < 0)
            return pgb_error_set(c->ctx, PGB_ENOTFOUND, "table %s is not in the backup of database %s",
                                 r->tables[t], c->toc->dbname ? c->toc->dbname : "?");
        const struct pgb_archive_entry *e = &c->toc->entries[found];
        if (!r->clean && exists(c, e))
            return pgb_error_set(c->ctx, PGB_EREFUSED, "%s %s.%s exists in the target database: drop it first, or "
                                 "restore with --clean to replace it", e->desc, e->namespace, e->tag);
        c->wanted[found] = 1;
        want_schema(c, e->namespace);
    }
    return PGB_OK;
}

static int choose_schemas(struct chooser *c, const struct pgb_selection_request *r)
{
    for (size_t s = 0; s < r->schema_count; s++) {
        const char *schema = r->schemas[s];
        size_t members = 0;
        for (size_t i = 0; i < c->toc->count; i++) {
            const struct pgb_archive_entry *e = &c->toc->entries[i];
            int is_schema = strcmp(e->desc, "SCHEMA") == 0 && strcmp(e->tag, schema) == 0;
            if (!is_schema && (!e->namespace || strcmp(e->namespace, schema) != 0))
                continue;
            members++;
            if (is_schema)
                continue; /* want_schema decides */
            if (!r->clean && (is_kind(e->desc, relation_kinds)) && exists(c, e))
                return pgb_error_set(c->ctx, PGB_EREFUSED, "%s %s.%s exists in the target database: drop the "
                                     "schema's objects first, or restore with --clean to replace them", e->desc,
                                     schema, e->tag);
            c->wanted[i] = 1;
        }
        if (!members)
            return pgb_error_set(c->ctx, PGB_ENOTFOUND, "schema %s is not in the backup of database %s", schema,
                                 c->toc->dbname ? c->toc->dbname : "?");
        want_schema(c, schema);
    }
    return PGB_OK;
}

static int report(struct chooser *c, struct pgb_selection *out)
{
    int failed = 0;
    for (size_t i = 0; !failed && i < c->toc->count; i++) {
        const struct pgb_archive_entry *e = &c->toc->entries[i];
        if (c->wanted[i]) {
            out->count++;
            if (!is_kind(e->desc, quiet_kinds))
                failed = add_text(out->objects, describe(e)) != 0;
            if (strcmp(e->desc, "TABLE") == 0 || strcmp(e->desc, "MATERIALIZED VIEW") == 0)
                failed = failed || !(out->analyze[out->analyze_count++] = join2(e->namespace, e->tag));
        } else if (any_dep_wanted(c, e) && !is_kind(e->desc, quiet_kinds)) {
            char *why = why_not(c, e), *name = describe(e);
            json_t *item = why && name ? json_pack("{s:s, s:s}", "object", name, "reason", why) : NULL;
            failed = !item || json_array_append_new(out->skipped, item) != 0;
            free(why);
            free(name);
        }
    }
    return failed ? pgb_error_nomem(c->ctx) : PGB_OK;
}

int pgb_selection_make(pgb_ctx *ctx, const struct pgb_archive_toc *toc, const struct pgb_selection_request *request,
                       const struct pgb_target_objects *target, struct pgb_selection *out)
{
    memset(out, 0, sizeof(*out));
    struct chooser c = {.ctx = ctx, .toc = toc, .target = target};
    size_t n = toc->count ? toc->count : 1;
    c.by_id = malloc(n * sizeof(*c.by_id));
    out->wanted = c.wanted = calloc(n, 1);
    out->analyze = calloc(n + 1, sizeof(*out->analyze));
    out->objects = json_array();
    out->skipped = json_array();
    int rc = c.by_id && c.wanted && out->analyze && out->objects && out->skipped ? PGB_OK : pgb_error_nomem(ctx);
    for (size_t i = 0; rc == PGB_OK && i < toc->count; i++)
        c.by_id[i] = (int)i;
    if (rc == PGB_OK)
        qsort_r(c.by_id, toc->count, sizeof(*c.by_id), compare_ids, toc->entries);
    if (rc == PGB_OK)
        rc = choose_tables(&c, request);
    if (rc == PGB_OK)
        rc = choose_schemas(&c, request);
    /* To a fixed point: a foreign key between two chosen tables can join only once both are in. */
    for (int changed = 1; rc == PGB_OK && changed;) {
        changed = 0;
        for (size_t i = 0; rc == PGB_OK && i < toc->count; i++) {
            if (c.wanted[i] || !any_dep_wanted(&c, &toc->entries[i]))
                continue;
            char *why = why_not(&c, &toc->entries[i]);
            if (!why) {
                c.wanted[i] = 1;
                changed = 1;
            }
            free(why);
        }
    }
    if (rc == PGB_OK)
        rc = report(&c, out);
    free(c.by_id);
    if (rc != PGB_OK)
        pgb_selection_clear(out);
    return rc;
}

void pgb_selection_clear(struct pgb_selection *s)
{
    free(s->wanted);
    for (size_t i = 0; i < s->analyze_count; i++)
        free(s->analyze[i]);
    free(s->analyze);
    json_decref(s->objects);
    json_decref(s->skipped);
    memset(s, 0, sizeof(*s));
}
