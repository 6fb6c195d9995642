/*
 * Logical and globals backups and restores end to end against a real
 * PostgreSQL 15 server, through the public API: a database with several
 * schemas, tables with indexes and foreign keys, sequences, a view, a
 * function, a trigger, row security, a partitioned table, a table owned by
 * another role, grants and database-level properties.
 *
 *  - after dropping two related tables (CASCADE takes a view and another
 *    table's foreign key with them), a selective restore brings them back with
 *    identical rows, their indexes, the sequence's value, the view and the
 *    foreign key, and the database's schema equals the original again;
 *  - a whole restore into a new database (streamed with one job, from a copy
 *    with two) equals the original: per-table hashes, an empty diff of
 *    pg_dump --schema-only, and the database's own properties;
 *  - after dropping a role, a globals restore brings it back with its
 *    membership, setting and password hash, and roles that exist are altered;
 *  - restored tables have planner statistics;
 *  - an unknown backup id, a missing database, missing or too old client
 *    programs, a failing pg_dump and a failing pg_restore are clear errors
 *    that change nothing;
 *  - a password given in the conninfo reaches pg_dump through its
 *    environment, never its command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include <pgbackup/pgbackup.h>

#include "pg_fixture.h"
#include "test_main.h"

static struct pg_fixture server;
static pgb_ctx *ctx;
static pgb_storage *storage;
static pgb_repo *repo;
static char work[300];
static char logical_id[128], globals_id[128];
static const char *const tables[] = {"shop.customers", "shop.orders", "shop.order_lines", "audit.log",
                                     "shop.meas",      "shop.owned",  NULL};

static const char setup_sql[] =
    "CREATE ROLE app_owner LOGIN PASSWORD 'secret1';"
    "CREATE ROLE reader;"
    "GRANT reader TO app_owner;"
    "CREATE SCHEMA shop; CREATE SCHEMA audit;"
    "CREATE TABLE shop.customers (id serial PRIMARY KEY, name text NOT NULL UNIQUE, created date DEFAULT "
    " '2026-01-01');"
    "CREATE TABLE shop.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " customer_id int NOT NULL REFERENCES shop.customers(id), total numeric(10,2) CHECK (total >= 0), note text);"
    "CREATE INDEX orders_customer_idx ON shop.orders(customer_id);"
    "CREATE INDEX orders_note_idx ON shop.orders(lower(note));"
    "CREATE TABLE shop.order_lines (order_id bigint REFERENCES shop.orders(id) ON DELETE CASCADE, line int,"
    " item text, PRIMARY KEY (order_id, line));"
    "CREATE TABLE audit.log (id serial PRIMARY KEY, order_id bigint REFERENCES shop.orders(id), what text);"
    "CREATE VIEW shop.order_totals AS SELECT c.name, sum(o.total) AS total FROM shop.customers c"
    " JOIN shop.orders o ON o.customer_id = c.id GROUP BY c.name;"
    "CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN NEW.note := coalesce(NEW.note, 'n' || NEW.id); RETURN NEW; END$$;"
    "CREATE TRIGGER orders_touch BEFORE INSERT ON shop.orders FOR EACH ROW EXECUTE FUNCTION shop.touch();"
    "ALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;"
    "CREATE POLICY orders_all ON shop.orders USING (true);"
    "COMMENT ON TABLE shop.orders IS 'orders; one per sale';"
    "COMMENT ON COLUMN shop.orders.note IS 'free text';"
    "GRANT SELECT ON shop.orders, shop.order_totals TO reader;"
    "CREATE TABLE shop.owned (id int PRIMARY KEY, v text);"
    "ALTER TABLE shop.owned OWNER TO app_owner;"
    "CREATE TABLE shop.meas (id int, at date) PARTITION BY RANGE (at);"
    "CREATE TABLE shop.meas_2026 PARTITION OF shop.meas FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
    "CREATE INDEX ON shop.meas(at);"
    "INSERT INTO shop.customers(name) SELECT 'customer ' || g FROM generate_series(1, 300) g;"
    "DELETE FROM shop.customers WHERE id % 7 = 0;"
    "INSERT INTO shop.orders(customer_id, total) SELECT CASE WHEN (1 + g % 300) % 7 = 0 THEN 2 + g % 300"
    " ELSE 1 + g % 300 END, (g % 500) + 0.25 FROM generate_series(1, 5000) g;"
    "INSERT INTO shop.order_lines SELECT o.id, l, 'item ' || l FROM shop.orders o, generate_series(1, 3) l;"
    "INSERT INTO audit.log(order_id, what) SELECT id, 'made' FROM shop.orders WHERE id % 10 = 0;"
    "INSERT INTO shop.owned SELECT g, md5(g::text) FROM generate_series(1, 200) g;"
    "INSERT INTO shop.meas SELECT g, date '2026-01-01' + g % 300 FROM generate_series(1, 1000) g;"
    "ALTER DATABASE shop SET work_mem = '8MB';"
    "ALTER DATABASE shop SET search_path = shop, public;"
    "ALTER ROLE reader IN DATABASE shop SET statement_timeout = '5min';"
    "COMMENT ON DATABASE shop IS 'the shop';"
    "REVOKE CONNECT, TEMPORARY ON DATABASE shop FROM PUBLIC;"
    "GRANT CONNECT ON DATABASE shop TO reader;"
    "ALTER DATABASE shop OWNER TO app_owner;";

static int run(const char *command)
{
    int status = system(command);
    if (status != 0)
        fprintf(stderr, "command failed (%d): %s\n", status, command);
    return status;
}

/* psql -c sql in database db; out gets the trimmed output. Returns psql's status. */
static int query(const char *db, const char *sql, char *out, size_t size)
{
    char path[400], command[8192];
    snprintf(path, sizeof(path), "%s/query.sql", work);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(sql, f);
    fclose(f);
    snprintf(command, sizeof(command),
             "%s/psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p %d -U postgres -d '%s' -f '%s' 2>&1",
             server.bindir, server.port, db, path);
    FILE *p = popen(command, "r");
    if (!p)
        return -1;
    size_t n = out ? fread(out, 1, size - 1, p) : 0;
    char discard[4096];
    while (fread(discard, 1, sizeof(discard), p) > 0)
        ;
    int status = pclose(p);
    if (out) {
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
            n--;
        out[n] = '\0';
    }
    if (status != 0)
        fprintf(stderr, "SQL failed in %s: %s\n%s\n", db, sql, out ? out : "");
    return status;
}

static void table_hash(const char *db, const char *table, char out[64])
{
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM %s t",
             table);
    CU_ASSERT_EQUAL(query(db, sql, out, 64), 0);
    CU_ASSERT_EQUAL(strlen(out), 32);
}

/* pg_dump --schema-only of db into work/name, without the per-run \restrict lines. */
static void schema_of(const char *db, const char *name)
{
    char command[2048];
    snprintf(command, sizeof(command),
             "%s/pg_dump --schema-only -h 127.0.0.1 -p %d -U postgres '%s' | grep -v '^\\\\\\(un\\)\\?restrict' > '%s/%s'",
             server.bindir, server.port, db, work, name);
    CU_ASSERT_EQUAL(run(command), 0);
}

static int same_files(const char *a, const char *b)
{
    char command[1024];
    snprintf(command, sizeof(command), "diff -u '%s/%s' '%s/%s' >&2", work, a, work, b);
    return run(command) == 0;
}

static pgb_options *options(const char *const *pairs)
{
    pgb_options *o = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    for (size_t i = 0; pairs[i]; i += 2)
        CU_ASSERT_EQUAL(pgb_options_set(o, pairs[i], pairs[i + 1]), PGB_OK);
    return o;
}

static int back_up(const char *const *pairs, json_t **record)
{
    pgb_options *o = options(pairs);
    pgb_job *job = NULL;
    int rc = pgb_job_new(&job, repo, o);
    if (rc == PGB_OK)
        rc = pgb_job_run(job);
    if (rc != PGB_OK)
        fprintf(stderr, "backup: %s\n", pgb_ctx_errmsg(ctx));
    if (record)
        *record = rc == PGB_OK ? json_loads(pgb_job_to_json(job), 0, NULL) : NULL;
    pgb_job_free(job);
    pgb_options_free(o);
    return rc;
}

static int restore(const char *const *pairs, json_t **report)
{
    pgb_options *o = options(pairs);
    pgb_logical_restore *r = NULL;
    int rc = pgb_logical_restore_new(&r, repo, o);
    if (rc == PGB_OK)
        rc = pgb_logical_restore_execute(r);
    if (rc != PGB_OK)
        fprintf(stderr, "restore: %s\n", pgb_ctx_errmsg(ctx));
    if (report)
        *report = r ? json_loads(pgb_logical_restore_to_json(r), 0, NULL) : NULL;
    pgb_logical_restore_free(r);
    pgb_options_free(o);
    return rc;
}

static size_t backup_count(void)
{
    pgb_backup_list *list = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_list(&list, repo), PGB_OK);
    size_t count = pgb_backup_list_count(list);
    pgb_backup_list_free(list);
    return count;
}

static int setup(void)
{
    if (pg_fixture_start(&server, NULL) != 0) {
        fprintf(stderr, "fixture: %s\n", server.error);
        return 1;
    }
    snprintf(work, sizeof(work), "%s/work", server.dir);
    mkdir(work, 0700);
    if (query("postgres", "CREATE DATABASE shop", NULL, 0) || query("shop", setup_sql, NULL, 0) ||
        query("postgres", "CREATE DATABASE other; CREATE ROLE tmp_r LOGIN PASSWORD 'pw-of-tmp' VALID UNTIL "
                          "'2031-01-01'; GRANT reader TO tmp_r; ALTER ROLE tmp_r SET work_mem = '3MB'",
              NULL, 0))
        return 1;
    char pass[400], repo_path[400];
    snprintf(pass, sizeof(pass), "%s/pass", work);
    snprintf(repo_path, sizeof(repo_path), "%s/repo", work);
    FILE *f = fopen(pass, "w");
    fputs("logical test passphrase\n", f);
    fclose(f);
    chmod(pass, 0600);
    pgb_options *o = NULL;
    if (pgb_ctx_new(&ctx) || pgb_options_new(&o, ctx) || pgb_options_set(o, "passphrase-file", pass) ||
        pgb_storage_open(&storage, ctx, repo_path, NULL) || pgb_repo_init(&repo, storage, o))
        return 1;
    pgb_options_free(o);
    return 0;
}

static int teardown(void)
{
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    pgb_ctx_free(ctx);
    pg_fixture_stop(&server);
    return 0;
}

static void test_logical_backup_stores_dump_toc_and_properties(void)
{
    json_t *record = NULL;
    const char *pairs[] = {"type", "logical", "pg", server.conninfo, "db", "shop", "label", "nightly", NULL};
    CU_ASSERT_EQUAL_FATAL(back_up(pairs, &record), PGB_OK);
    snprintf(logical_id, sizeof(logical_id), "%s", json_string_value(json_object_get(record, "id")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(record, "type")), "logical");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(record, "databases")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(record, "databases"), 0)), "shop");
    json_t *detail = json_array_get(json_object_get(record, "database_details"), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(detail, "tables")), 7);
    CU_ASSERT(json_integer_value(json_object_get(detail, "dump_size")) > 20000);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(detail, "dump_size")),
                    json_integer_value(json_object_get(record, "database_size")));
    CU_ASSERT(json_integer_value(json_object_get(record, "stored_size")) > 0);
    json_decref(record);

    /* The objects are listed from the stored TOC, with their kind, schema and owner. */
    pgb_backup_contents *contents = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_backup_contents_read(&contents, repo, logical_id, NULL), PGB_OK);
    int orders = 0, owned = 0, view = 0, function = 0;
    for (size_t i = 0; i < pgb_backup_contents_count(contents); i++) {
        const char *database, *kind, *schema, *name, *owner;
        CU_ASSERT_EQUAL(pgb_backup_contents_object(contents, i, &database, &kind, &schema, &name, &owner), PGB_OK);
        CU_ASSERT_STRING_EQUAL(database, "shop");
        orders |= strcmp(kind, "TABLE") == 0 && strcmp(schema, "shop") == 0 && strcmp(name, "orders") == 0;
        owned |= strcmp(name, "owned") == 0 && strcmp(owner, "app_owner") == 0;
        view |= strcmp(kind, "VIEW") == 0 && strcmp(name, "order_totals") == 0;
        function |= strcmp(kind, "FUNCTION") == 0 && strcmp(name, "touch()") == 0;
    }
    CU_ASSERT(orders && owned && view && function);
    CU_ASSERT_EQUAL(pgb_backup_contents_object(contents, pgb_backup_contents_count(contents), NULL, NULL, NULL, NULL,
                                               NULL),
                    PGB_ITEROVER);
    json_t *doc = json_loads(pgb_backup_contents_to_json(contents), 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "backup")), logical_id);
    json_decref(doc);
    pgb_backup_contents_free(contents);
}

static void test_verify_reads_back_a_logical_backup(void)
{
    /* No backup_manifest and no WAL: every file is read back and checked against its SHA-256. */
    pgb_verify_report *report = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_verify_backup(&report, repo, logical_id), PGB_OK);
    CU_ASSERT_EQUAL(pgb_verify_report_ok(report), 1);
    CU_ASSERT_EQUAL(pgb_verify_report_problem_count(report), 0);
    pgb_verify_report_free(report);
}

static void test_globals_backup_is_committed(void)
{
    json_t *record = NULL;
    const char *pairs[] = {"type", "globals", "pg", server.conninfo, NULL};
    CU_ASSERT_EQUAL_FATAL(back_up(pairs, &record), PGB_OK);
    snprintf(globals_id, sizeof(globals_id), "%s", json_string_value(json_object_get(record, "id")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(record, "type")), "globals");
    CU_ASSERT(json_integer_value(json_object_get(record, "database_size")) > 0);
    json_decref(record);
    /* A globals backup has no objects to list. */
    pgb_backup_contents *contents = NULL;
    CU_ASSERT_EQUAL(pgb_backup_contents_read(&contents, repo, globals_id, NULL), PGB_EINVALID);
}

/* The rows of every table, the indexes and the sequence of orders, as they are now in db. */
struct snapshot {
    char hashes[8][64];
    char indexes[2048];
    char sequence[64];
};

static void take(const char *db, struct snapshot *s)
{
    for (int i = 0; tables[i]; i++)
        table_hash(db, tables[i], s->hashes[i]);
    CU_ASSERT_EQUAL(query(db, "SELECT string_agg(indexdef, '; ' ORDER BY indexdef) FROM pg_indexes WHERE "
                              "schemaname IN ('shop', 'audit')",
                          s->indexes, sizeof(s->indexes)),
                    0);
    CU_ASSERT_EQUAL(query(db, "SELECT last_value FROM shop.orders_id_seq", s->sequence, sizeof(s->sequence)), 0);
}

static void expect_same(const struct snapshot *a, const struct snapshot *b)
{
    for (int i = 0; tables[i]; i++) {
        if (strcmp(a->hashes[i], b->hashes[i]) != 0)
            fprintf(stderr, "table %s differs\n", tables[i]);
        CU_ASSERT_STRING_EQUAL(a->hashes[i], b->hashes[i]);
    }
    CU_ASSERT_STRING_EQUAL(a->indexes, b->indexes);
    CU_ASSERT_STRING_EQUAL(a->sequence, b->sequence);
}

static void test_selective_restore_brings_back_dropped_tables(void)
{
    struct snapshot before, after;
    take("shop", &before);
    schema_of("shop", "shop-before.sql");
    char out[256];
    /* CASCADE takes the view and audit.log's foreign key with the tables. */
    CU_ASSERT_EQUAL_FATAL(query("shop", "DROP TABLE shop.orders, shop.order_lines CASCADE", NULL, 0), 0);
    CU_ASSERT_EQUAL(query("shop", "SELECT count(*) FROM pg_views WHERE viewname = 'order_totals'", out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "0");

    json_t *report = NULL;
    const char *pairs[] = {"type", "logical", "backup", logical_id, "db", "shop", "pg", server.conninfo,
                           "table", "shop.orders", "table", "shop.order_lines", NULL};
    CU_ASSERT_EQUAL_FATAL(restore(pairs, &report), PGB_OK);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(report, "mode")), "selective");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(report, "input")), "partial-file");
    json_t *analyzed = json_object_get(report, "analyzed");
    CU_ASSERT_EQUAL(json_array_size(analyzed), 2);
    json_decref(report);

    take("shop", &after);
    expect_same(&before, &after);
    /* Everything is back: view, foreign keys, trigger, policy, grants, comments, owned sequence. */
    schema_of("shop", "shop-after.sql");
    CU_ASSERT(same_files("shop-before.sql", "shop-after.sql"));
    CU_ASSERT_EQUAL(query("shop", "SELECT (SELECT count(*) FROM shop.order_totals) || ',' ||"
                                  " has_table_privilege('reader', 'shop.orders', 'SELECT') || ',' ||"
                                  " (SELECT count(*) FROM pg_constraint WHERE conname = 'log_order_id_fkey')",
                          out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "258,true,1");
    /* The restored tables have planner statistics. */
    CU_ASSERT_EQUAL(query("shop", "SELECT count(DISTINCT tablename) FROM pg_stats WHERE schemaname = 'shop' AND "
                                  "tablename IN ('orders', 'order_lines')",
                          out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "2");
    CU_ASSERT_EQUAL(query("shop", "SELECT reltuples FROM pg_class WHERE oid = 'shop.orders'::regclass", out,
                          sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "5000");
    /* The sequence goes on from where it was. */
    CU_ASSERT_EQUAL(query("shop", "INSERT INTO shop.orders(customer_id, total) VALUES (1, 1) RETURNING id", out,
                          sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "5001");
    CU_ASSERT_EQUAL(query("shop", "DELETE FROM shop.orders WHERE id = 5001; SELECT setval('shop.orders_id_seq', "
                                  "5000)", NULL, 0), 0);
}

static void test_selective_restore_refuses_a_table_that_exists(void)
{
    char before[64], after[64];
    table_hash("shop", "shop.customers", before);
    const char *pairs[] = {"type", "logical", "backup", logical_id, "db", "shop", "pg", server.conninfo, "table",
                           "shop.customers", NULL};
    CU_ASSERT_EQUAL(restore(pairs, NULL), PGB_EREFUSED);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "shop.customers exists"));
    const char *missing[] = {"type", "logical", "backup", logical_id, "db", "shop", "pg", server.conninfo, "table",
                             "shop.nothing", NULL};
    CU_ASSERT_EQUAL(restore(missing, NULL), PGB_ENOTFOUND);
    table_hash("shop", "shop.customers", after);
    CU_ASSERT_STRING_EQUAL(before, after);
}

static const char props_sql[] =
    "SELECT pg_get_userbyid(datdba) || '|' || datacl::text || '|' || pg_encoding_to_char(encoding) || '|' ||"
    " datcollate || '|' || shobj_description(oid, 'pg_database') || '|' ||"
    " (SELECT string_agg(array_to_string(s.setconfig, ','), ';' ORDER BY s.setrole) FROM pg_db_role_setting s"
    "  WHERE s.setdatabase = d.oid)"
    " FROM pg_database d WHERE datname = ";

static void database_props(const char *db, char *out, size_t size)
{
    char sql[1024];
    snprintf(sql, sizeof(sql), "%s'%s'", props_sql, db);
    CU_ASSERT_EQUAL(query("postgres", sql, out, size), 0);
}

static void whole_restore_into(const char *target, const char *jobs, const char *input)
{
    json_t *report = NULL;
    const char *pairs[] = {"type", "logical", "backup", logical_id, "db", "shop", "pg", server.conninfo,
                           "create", "true", "target-db", target, "jobs", jobs, NULL};
    CU_ASSERT_EQUAL_FATAL(restore(pairs, &report), PGB_OK);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(report, "input")), input);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(report, "analyzed")), "database");
    json_decref(report);
    struct snapshot original, copy;
    take("shop", &original);
    take(target, &copy);
    expect_same(&original, &copy);
    char name[64];
    snprintf(name, sizeof(name), "%s.sql", target);
    schema_of(target, name);
    CU_ASSERT(same_files("shop-before.sql", name));
    char a[1024], b[1024];
    database_props("shop", a, sizeof(a));
    database_props(target, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "app_owner|"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "reader=c/app_owner"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "search_path=shop, public"));
    /* Planner statistics for the whole database. */
    char out[64];
    CU_ASSERT_EQUAL(query(target, "SELECT count(DISTINCT tablename) FROM pg_stats WHERE schemaname = 'shop'", out,
                          sizeof(out)),
                    0);
    CU_ASSERT(atoi(out) >= 5);
}

static void test_whole_restore_into_new_database_streamed(void)
{
    whole_restore_into("shop_stream", "1", "stream");
}

static void test_whole_restore_into_new_database_with_two_jobs(void)
{
    whole_restore_into("shop_parallel", "2", "file");
}

static void test_directory_format_with_jobs_restores_whole_and_selective(void)
{
    json_t *record = NULL;
    const char *pairs[] = {"type", "logical", "pg", server.conninfo, "db", "shop", "format", "directory", "jobs", "2",
                           NULL};
    CU_ASSERT_EQUAL_FATAL(back_up(pairs, &record), PGB_OK);
    char id[128];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(record, "id")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(record, "format")), "directory");
    json_decref(record);

    json_t *report = NULL;
    const char *whole[] = {"type", "logical", "backup", id, "db", "shop", "pg", server.conninfo, "create", "true",
                           "target-db", "shop_dir", "jobs", "2", NULL};
    CU_ASSERT_EQUAL_FATAL(restore(whole, &report), PGB_OK);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(report, "input")), "directory");
    json_decref(report);
    struct snapshot original, copy;
    take("shop", &original);
    take("shop_dir", &copy);
    expect_same(&original, &copy);
    schema_of("shop_dir", "shop_dir.sql");
    CU_ASSERT(same_files("shop-before.sql", "shop_dir.sql"));

    CU_ASSERT_EQUAL_FATAL(query("shop_dir", "DROP TABLE shop.orders, shop.order_lines CASCADE", NULL, 0), 0);
    const char *selective[] = {"type", "logical", "backup", id, "db", "shop", "pg", server.conninfo, "target-db",
                               "shop_dir", "table", "shop.orders", "table", "shop.order_lines", NULL};
    CU_ASSERT_EQUAL_FATAL(restore(selective, &report), PGB_OK);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(report, "input")), "partial-directory");
    json_decref(report);
    take("shop_dir", &copy);
    expect_same(&original, &copy);
    schema_of("shop_dir", "shop_dir_after.sql");
    CU_ASSERT(same_files("shop-before.sql", "shop_dir_after.sql"));
}

static void test_create_refuses_an_existing_database_and_clean_replaces_it(void)
{
    const char *pairs[] = {"type", "logical", "backup", logical_id, "db", "shop", "pg", server.conninfo,
                           "create", "true", "target-db", "shop_stream", NULL};
    CU_ASSERT_EQUAL(restore(pairs, NULL), PGB_EREFUSED);
    CU_ASSERT_EQUAL(query("shop_stream", "DELETE FROM shop.order_lines WHERE line = 3", NULL, 0), 0);
    const char *clean[] = {"type", "logical", "backup", logical_id, "db", "shop", "pg", server.conninfo,
                           "create", "true", "clean", "true", "target-db", "shop_stream", "analyze", "false", NULL};
    json_t *report = NULL;
    CU_ASSERT_EQUAL_FATAL(restore(clean, &report), PGB_OK);
    CU_ASSERT(json_is_null(json_object_get(report, "analyzed")));
    json_decref(report);
    char a[64], b[64];
    table_hash("shop", "shop.order_lines", a);
    table_hash("shop_stream", "shop.order_lines", b);
    CU_ASSERT_STRING_EQUAL(a, b);
}

static void test_failing_restore_changes_nothing(void)
{
    /* Into a database that has the objects already: pg_restore fails, its one transaction changes nothing. */
    char before[64], after[64];
    table_hash("shop_parallel", "shop.orders", before);
    CU_ASSERT_EQUAL(query("shop_parallel", "INSERT INTO shop.owned VALUES (100000, 'marker')", NULL, 0), 0);
    const char *pairs[] = {"type", "logical", "backup", logical_id, "db", "shop", "pg", server.conninfo, "target-db",
                           "shop_parallel", NULL};
    CU_ASSERT_EQUAL(restore(pairs, NULL), PGB_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "pg_restore failed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "already exists"));
    table_hash("shop_parallel", "shop.orders", after);
    CU_ASSERT_STRING_EQUAL(before, after);
    char out[64];
    CU_ASSERT_EQUAL(query("shop_parallel", "SELECT count(*) FROM shop.owned WHERE id = 100000", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "1");
}

static void test_globals_restore_brings_back_a_dropped_role(void)
{
    char before[512], after[512];
    const char *role_sql =
        "SELECT r.rolname || '|' || r.rolpassword || '|' || r.rolvaliduntil || '|' || r.rolcanlogin || '|' ||"
        " (SELECT string_agg(g.rolname, ',') FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
        "  WHERE m.member = r.oid) || '|' ||"
        " (SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting WHERE setrole = r.oid)"
        " FROM pg_authid r WHERE r.rolname = 'tmp_r'";
    CU_ASSERT_EQUAL(query("postgres", role_sql, before, sizeof(before)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(before, "SCRAM-SHA-256$"));
    CU_ASSERT_EQUAL_FATAL(query("postgres", "DROP ROLE tmp_r", NULL, 0), 0);
    json_t *report = NULL;
    const char *pairs[] = {"type", "globals", "backup", globals_id, "pg", server.conninfo, NULL};
    CU_ASSERT_EQUAL_FATAL(restore(pairs, &report), PGB_OK);
    CU_ASSERT_EQUAL(query("postgres", role_sql, after, sizeof(after)), 0);
    CU_ASSERT_STRING_EQUAL(before, after);
    /* The roles that existed were altered, not errors. */
    json_t *existing = json_object_get(report, "roles_existing");
    int postgres = 0, reader = 0;
    size_t i;
    json_t *name;
    json_array_foreach(existing, i, name)
    {
        postgres |= strcmp(json_string_value(name), "postgres") == 0;
        reader |= strcmp(json_string_value(name), "reader") == 0;
    }
    CU_ASSERT(postgres && reader);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(report, "errors")), 0);
    json_decref(report);
}

static void test_unknown_backup_and_missing_database_are_errors(void)
{
    size_t count = backup_count();
    const char *unknown[] = {"type", "logical", "backup", "20200101T000000.000Z-logical", "db", "shop", "pg",
                             server.conninfo, NULL};
    CU_ASSERT_EQUAL(restore(unknown, NULL), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "20200101T000000.000Z-logical"));
    const char *not_in_backup[] = {"type", "logical", "backup", logical_id, "db", "nope", "pg", server.conninfo,
                                   NULL};
    CU_ASSERT_EQUAL(restore(not_in_backup, NULL), PGB_ENOTFOUND);
    const char *no_target[] = {"type", "logical", "backup", logical_id, "db", "shop", "pg", server.conninfo,
                               "target-db", "absent", NULL};
    CU_ASSERT_EQUAL(restore(no_target, NULL), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "--create"));
    const char *wrong_type[] = {"type", "globals", "backup", logical_id, "pg", server.conninfo, NULL};
    CU_ASSERT_EQUAL(restore(wrong_type, NULL), PGB_EINVALID);
    const char *missing_db[] = {"type", "logical", "pg", server.conninfo, "db", "nope", NULL};
    CU_ASSERT_EQUAL(back_up(missing_db, NULL), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "database nope does not exist"));
    CU_ASSERT_EQUAL(backup_count(), count);
    char out[64];
    CU_ASSERT_EQUAL(query("postgres", "SELECT count(*) FROM pg_database WHERE datname = 'absent'", out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "0");
}

/* A folder of programs: pg_dump, pg_restore and pg_dumpall wrappers made by body (a shell script's body). */
static void fake_bindir(const char *name, const char *body)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", work, name);
    mkdir(path, 0700);
    const char *programs[] = {"pg_dump", "pg_restore", "pg_dumpall", NULL};
    for (int i = 0; programs[i]; i++) {
        char file[600];
        snprintf(file, sizeof(file), "%s/%s", path, programs[i]);
        FILE *f = fopen(file, "w");
        fprintf(f, "#!/bin/sh\nprogram=%s\nreal=%s/%s\n%s\n", programs[i], server.bindir, programs[i], body);
        fclose(f);
        chmod(file, 0700);
    }
}

static void test_missing_or_old_client_programs_are_errors(void)
{
    size_t count = backup_count();
    char bindir[512];
    const char *missing[] = {"type", "logical", "pg", server.conninfo, "db", "shop", "pg-bindir", "/nonexistent/bin",
                             NULL};
    CU_ASSERT_EQUAL(back_up(missing, NULL), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "/nonexistent/bin"));
    fake_bindir("old-bin", "echo \"$program (PostgreSQL) 14.11\"");
    snprintf(bindir, sizeof(bindir), "%s/old-bin", work);
    const char *old[] = {"type", "logical", "pg", server.conninfo, "db", "shop", "pg-bindir", bindir, NULL};
    CU_ASSERT_EQUAL(back_up(old, NULL), PGB_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "14"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "15"));
    const char *old_restore[] = {"type", "logical", "backup", logical_id, "db", "shop", "pg", server.conninfo,
                                 "pg-bindir", bindir, "create", "true", "target-db", "never", NULL};
    CU_ASSERT_EQUAL(restore(old_restore, NULL), PGB_EUNSUPPORTED);
    CU_ASSERT_EQUAL(backup_count(), count);
}

static void test_failing_pg_dump_commits_nothing(void)
{
    size_t count = backup_count();
    /* A pg_dump that writes part of an archive, complains and fails. */
    fake_bindir("failing-bin", "case \"$1\" in --version) exec \"$real\" --version;; esac\n"
                               "[ $program = pg_dump ] || exec \"$real\" \"$@\"\n"
                               "printf 'PGDMP'\necho 'pg_dump: error: query failed: out of disk quota' >&2\nexit 1");
    char bindir[512];
    snprintf(bindir, sizeof(bindir), "%s/failing-bin", work);
    const char *pairs[] = {"type", "logical", "pg", server.conninfo, "db", "shop", "pg-bindir", bindir, NULL};
    CU_ASSERT_EQUAL(back_up(pairs, NULL), PGB_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "out of disk quota"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "pg_dump of database shop"));
    CU_ASSERT_EQUAL(backup_count(), count);
}

static void test_password_reaches_programs_through_the_environment(void)
{
    /* A role that must give its password, checked by scram: the backup works only if pg_dump gets it. */
    CU_ASSERT_EQUAL_FATAL(query("postgres", "CREATE ROLE pw_user SUPERUSER LOGIN PASSWORD 'Sekr3t-pw'", NULL, 0), 0);
    char command[2048];
    snprintf(command, sizeof(command),
             "cd '%s' && { echo 'host all pw_user 127.0.0.1/32 scram-sha-256'; cat pg_hba.conf; } > hba.new && "
             "mv hba.new pg_hba.conf",
             server.datadir);
    CU_ASSERT_EQUAL_FATAL(run(command), 0);
    CU_ASSERT_EQUAL_FATAL(query("postgres", "SELECT pg_reload_conf()", NULL, 0), 0);
    /* Wrappers record every argument list before running the real program. */
    char log[512], bindir[512];
    snprintf(log, sizeof(log), "%s/arguments.log", work);
    char body[1024];
    snprintf(body, sizeof(body), "echo \"$program $*\" >> '%s'\nexec \"$real\" \"$@\"", log);
    fake_bindir("recording-bin", body);
    snprintf(bindir, sizeof(bindir), "%s/recording-bin", work);
    char conninfo[600];
    snprintf(conninfo, sizeof(conninfo), "host=127.0.0.1 port=%d user=pw_user password=Sekr3t-pw dbname=postgres",
             server.port);
    const char *pairs[] = {"type", "logical", "pg", conninfo, "db", "other", "pg-bindir", bindir, NULL};
    CU_ASSERT_EQUAL(back_up(pairs, NULL), PGB_OK);
    const char *globals[] = {"type", "globals", "pg", conninfo, "pg-bindir", bindir, NULL};
    CU_ASSERT_EQUAL(back_up(globals, NULL), PGB_OK);
    FILE *f = fopen(log, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[4096];
    int dumps = 0;
    while (fgets(line, sizeof(line), f)) {
        CU_ASSERT_PTR_NULL(strstr(line, "Sekr3t"));
        dumps += strncmp(line, "pg_dump --format=custom", 23) == 0 || strncmp(line, "pg_dumpall --globals", 20) == 0;
    }
    fclose(f);
    CU_ASSERT_EQUAL(dumps, 2);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"test_logical_backup_stores_dump_toc_and_properties", test_logical_backup_stores_dump_toc_and_properties},
        {"test_verify_reads_back_a_logical_backup", test_verify_reads_back_a_logical_backup},
        {"test_globals_backup_is_committed", test_globals_backup_is_committed},
        {"test_selective_restore_brings_back_dropped_tables", test_selective_restore_brings_back_dropped_tables},
        {"test_selective_restore_refuses_a_table_that_exists", test_selective_restore_refuses_a_table_that_exists},
        {"test_whole_restore_into_new_database_streamed", test_whole_restore_into_new_database_streamed},
        {"test_whole_restore_into_new_database_with_two_jobs", test_whole_restore_into_new_database_with_two_jobs},
        {"test_directory_format_with_jobs_restores_whole_and_selective",
         test_directory_format_with_jobs_restores_whole_and_selective},
        {"test_create_refuses_an_existing_database_and_clean_replaces_it",
         test_create_refuses_an_existing_database_and_clean_replaces_it},
        {"test_failing_restore_changes_nothing", test_failing_restore_changes_nothing},
        {"test_globals_restore_brings_back_a_dropped_role", test_globals_restore_brings_back_a_dropped_role},
        {"test_unknown_backup_and_missing_database_are_errors", test_unknown_backup_and_missing_database_are_errors},
        {"test_missing_or_old_client_programs_are_errors", test_missing_or_old_client_programs_are_errors},
        {"test_failing_pg_dump_commits_nothing", test_failing_pg_dump_commits_nothing},
        {"test_password_reaches_programs_through_the_environment",
         test_password_reaches_programs_through_the_environment},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"logical_restore", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
