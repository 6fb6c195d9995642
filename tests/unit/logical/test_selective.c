/*
 * Choosing the entries of a selective restore from the archive's own
 * dependencies (a TOC as pg_dump 15 writes it for a shop database, ids and
 * dependencies as pg_restore -l -v lists them): a dropped table comes back
 * whole, with what DROP ... CASCADE removed (a view, another table's foreign
 * key) when it can be made; objects that exist are left alone and reported;
 * selected tables that exist are refused without --clean.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "core/text.h"
#include "logical/selective.h"
#include "test_main.h"

static pgb_ctx *ctx;
static struct pgb_archive_toc toc;

static void add(int id, const char *desc, const char *schema, const char *tag, ...)
{
    struct pgb_archive_entry *e = &toc.entries[toc.count++];
    e->id = id;
    e->desc = pgb_text_dup(desc);
    e->namespace = schema ? pgb_text_dup(schema) : NULL;
    e->tag = pgb_text_dup(tag);
    e->data_offset = -1;
    e->deps = calloc(8, sizeof(int));
    va_list ap;
    va_start(ap, tag);
    for (int dep; (dep = va_arg(ap, int)) != 0;)
        e->deps[e->dep_count++] = dep;
    va_end(ap);
}

static int setup(void)
{
    if (pgb_ctx_new(&ctx))
        return 1;
    toc.entries = calloc(64, sizeof(*toc.entries));
    toc.dbname = pgb_text_dup("shop");
    add(6, "SCHEMA", NULL, "shop", 0);
    add(7, "SCHEMA", NULL, "audit", 0);
    add(227, "FUNCTION", "shop", "touch()", 6, 0);
    add(222, "TABLE", "audit", "log", 7, 0);
    add(221, "SEQUENCE", "audit", "log_id_seq", 222, 7, 0);
    add(3415, "SEQUENCE OWNED BY", "audit", "log_id_seq", 221, 0);
    add(217, "TABLE", "shop", "customers", 6, 0);
    add(216, "SEQUENCE", "shop", "customers_id_seq", 6, 217, 0);
    add(225, "TABLE", "shop", "meas", 6, 0);
    add(226, "TABLE", "shop", "meas_2024", 6, 225, 0);
    add(220, "TABLE", "shop", "order_lines", 6, 0);
    add(219, "TABLE", "shop", "orders", 6, 0);
    add(240, "TABLE", "audit", "orders", 7, 0);
    add(3417, "COMMENT", "shop", "TABLE orders", 219, 0);
    add(3419, "ACL", "shop", "TABLE orders", 219, 0);
    add(223, "VIEW", "shop", "order_totals", 219, 217, 217, 219, 6, 0);
    add(230, "VIEW", "audit", "recent", 222, 7, 0);
    add(218, "SEQUENCE", "shop", "orders_id_seq", 6, 219, 0);
    add(3230, "TABLE ATTACH", "shop", "meas_2024", 226, 225, 0);
    add(3231, "DEFAULT", "shop", "customers id", 217, 216, 217, 0);
    add(3401, "TABLE DATA", "shop", "orders", 219, 0);
    add(3402, "TABLE DATA", "shop", "order_lines", 220, 0);
    add(3422, "SEQUENCE SET", "shop", "orders_id_seq", 218, 0);
    add(3241, "CONSTRAINT", "shop", "orders orders_pkey", 219, 0);
    add(3238, "CONSTRAINT", "shop", "customers customers_pkey", 217, 0);
    add(3243, "CONSTRAINT", "shop", "order_lines order_lines_pkey", 220, 220, 0);
    add(3239, "INDEX", "shop", "orders_customer_idx", 219, 0);
    add(3252, "TRIGGER", "shop", "orders orders_touch", 227, 219, 0);
    add(3251, "FK CONSTRAINT", "audit", "log log_order_id_fkey", 3241, 222, 219, 0);
    add(3250, "FK CONSTRAINT", "shop", "order_lines order_lines_order_id_fkey", 220, 219, 3241, 0);
    add(3249, "FK CONSTRAINT", "shop", "orders orders_customer_id_fkey", 219, 3238, 217, 0);
    add(3396, "ROW SECURITY", "shop", "orders", 219, 0);
    add(3397, "POLICY", "shop", "orders orders_all", 219, 0);
    return 0;
}

static int teardown(void)
{
    pgb_archive_toc_clear(&toc);
    pgb_ctx_free(ctx);
    return 0;
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A target holding these relations ("schema.name"), constraints ("schema.table.name") and schemas. */
static void make_target(struct pgb_target_objects *t, const char *const *relations, const char *const *constraints,
                        const char *const *schemas)
{
    memset(t, 0, sizeof(*t));
    t->relations = calloc(32, sizeof(char *));
    t->constraints = calloc(32, sizeof(char *));
    t->schemas = calloc(8, sizeof(char *));
    for (; relations && *relations; relations++) {
        char *key = pgb_text_dup(*relations);
        *strchr(key, '.') = '\x1f';
        t->relations[t->relation_count++] = key;
    }
    for (; constraints && *constraints; constraints++) {
        char *key = pgb_text_dup(*constraints);
        *strchr(key, '.') = '\x1f';
        *strchr(key, '.') = '\x1f';
        t->constraints[t->constraint_count++] = key;
    }
    for (; schemas && *schemas; schemas++)
        t->schemas[t->schema_count++] = pgb_text_dup(*schemas);
    qsort(t->relations, t->relation_count, sizeof(char *), compare);
    qsort(t->constraints, t->constraint_count, sizeof(char *), compare);
    qsort(t->schemas, t->schema_count, sizeof(char *), compare);
}

static int wanted(const struct pgb_selection *s, int id)
{
    for (size_t i = 0; i < toc.count; i++)
        if (toc.entries[i].id == id)
            return s->wanted[i];
    CU_FAIL("no such id");
    return 0;
}

/* After DROP TABLE shop.orders, shop.order_lines CASCADE: what is left. */
static const char *const left_after_drop[] = {"audit.log",       "audit.log_id_seq", "audit.orders",
                                              "audit.recent",    "shop.customers",   "shop.customers_id_seq",
                                              "shop.meas",       "shop.meas_2024",   "shop.customers_pkey",
                                              "audit.log_pkey",  NULL};
static const char *const constraints_left[] = {"shop.customers.customers_pkey", NULL};
static const char *const schemas[] = {"shop", "audit", "public", NULL};

static void test_dropped_tables_come_back_whole_with_what_cascade_removed(void)
{
    struct pgb_target_objects target;
    make_target(&target, left_after_drop, constraints_left, schemas);
    char *tables[] = {"shop.orders", "shop.order_lines", NULL};
    struct pgb_selection_request request = {tables, 2, NULL, 0, 0};
    struct pgb_selection s;
    CU_ASSERT_EQUAL_FATAL(pgb_selection_make(ctx, &toc, &request, &target, &s), PGB_OK);
    int expected[] = {219, 220, 3417, 3419, 223, 218, 3401, 3402, 3422, 3241, 3243, 3239, 3252, 3251, 3250, 3249,
                      3396, 3397, 0};
    for (int i = 0; expected[i]; i++) {
        if (!wanted(&s, expected[i]))
            fprintf(stderr, "id %d is not chosen\n", expected[i]);
        CU_ASSERT(wanted(&s, expected[i]));
    }
    CU_ASSERT_EQUAL(s.count, 18);
    /* Existing objects and other tables' own parts stay out. */
    int absent[] = {6, 7, 217, 3238, 3231, 226, 230, 240, 222, 227, 0};
    for (int i = 0; absent[i]; i++)
        CU_ASSERT(!wanted(&s, absent[i]));
    CU_ASSERT_EQUAL(s.analyze_count, 2);
    CU_ASSERT_EQUAL(json_array_size(s.skipped), 0);
    pgb_selection_clear(&s);
    pgb_target_objects_clear(&target);
}

static void test_what_cannot_be_made_is_left_out_with_a_reason(void)
{
    /* audit.log is gone too and not asked for: its foreign key to orders cannot be made. */
    const char *const relations[] = {"shop.customers", "shop.customers_pkey", NULL};
    struct pgb_target_objects target;
    make_target(&target, relations, constraints_left, schemas);
    char *tables[] = {"orders", NULL};
    struct pgb_selection_request request = {tables, 1, NULL, 0, 0};
    struct pgb_selection s;
    /* Unqualified "orders" is in two schemas. */
    CU_ASSERT_EQUAL(pgb_selection_make(ctx, &toc, &request, &target, &s), PGB_EINVALID);
    tables[0] = "shop.orders";
    CU_ASSERT_EQUAL_FATAL(pgb_selection_make(ctx, &toc, &request, &target, &s), PGB_OK);
    CU_ASSERT(!wanted(&s, 3251));
    CU_ASSERT(!wanted(&s, 3250)); /* order_lines is not there either */
    CU_ASSERT(wanted(&s, 3249) && wanted(&s, 223));
    int fk_reported = 0;
    size_t i;
    json_t *item;
    json_array_foreach(s.skipped, i, item)
    {
        const char *object = json_string_value(json_object_get(item, "object"));
        const char *reason = json_string_value(json_object_get(item, "reason"));
        if (strcmp(object, "FK CONSTRAINT audit.log log_order_id_fkey") == 0) {
            fk_reported = 1;
            CU_ASSERT_PTR_NOT_NULL(strstr(reason, "TABLE audit.log"));
        }
    }
    CU_ASSERT(fk_reported);
    pgb_selection_clear(&s);
    pgb_target_objects_clear(&target);
}

static void test_existing_tables_are_refused_without_clean(void)
{
    const char *const relations[] = {"shop.orders", "shop.customers", NULL};
    struct pgb_target_objects target;
    make_target(&target, relations, NULL, schemas);
    char *tables[] = {"shop.orders", NULL};
    struct pgb_selection_request request = {tables, 1, NULL, 0, 0};
    struct pgb_selection s;
    CU_ASSERT_EQUAL(pgb_selection_make(ctx, &toc, &request, &target, &s), PGB_EREFUSED);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "shop.orders exists"));
    request.clean = 1;
    CU_ASSERT_EQUAL_FATAL(pgb_selection_make(ctx, &toc, &request, &target, &s), PGB_OK);
    CU_ASSERT(wanted(&s, 219) && wanted(&s, 3401));
    pgb_selection_clear(&s);
    tables[0] = "shop.nothing";
    CU_ASSERT_EQUAL(pgb_selection_make(ctx, &toc, &request, &target, &s), PGB_ENOTFOUND);
    pgb_target_objects_clear(&target);
}

static void test_a_schema_comes_back_with_its_objects(void)
{
    /* DROP SCHEMA shop CASCADE: audit.log's foreign key to orders went with it. */
    const char *const relations[] = {"audit.log", "audit.orders", "audit.recent", "audit.log_id_seq", NULL};
    const char *const left[] = {"audit", "public", NULL};
    struct pgb_target_objects target;
    make_target(&target, relations, NULL, left);
    char *names[] = {"shop", NULL};
    struct pgb_selection_request request = {NULL, 0, names, 1, 0};
    struct pgb_selection s;
    CU_ASSERT_EQUAL_FATAL(pgb_selection_make(ctx, &toc, &request, &target, &s), PGB_OK);
    int expected[] = {6, 227, 217, 216, 225, 226, 220, 219, 223, 3230, 3231, 3238, 3249, 3251, 3252, 0};
    for (int i = 0; expected[i]; i++)
        CU_ASSERT(wanted(&s, expected[i]));
    CU_ASSERT(!wanted(&s, 7) && !wanted(&s, 222) && !wanted(&s, 240) && !wanted(&s, 230));
    pgb_selection_clear(&s);
    names[0] = "sales";
    CU_ASSERT_EQUAL(pgb_selection_make(ctx, &toc, &request, &target, &s), PGB_ENOTFOUND);
    pgb_target_objects_clear(&target);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"test_dropped_tables_come_back_whole_with_what_cascade_removed",
         test_dropped_tables_come_back_whole_with_what_cascade_removed},
        {"test_what_cannot_be_made_is_left_out_with_a_reason", test_what_cannot_be_made_is_left_out_with_a_reason},
        {"test_existing_tables_are_refused_without_clean", test_existing_tables_are_refused_without_clean},
        {"test_a_schema_comes_back_with_its_objects", test_a_schema_comes_back_with_its_objects},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"selective", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
