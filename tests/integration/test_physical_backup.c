/*
 * Physical backups end to end against a real PostgreSQL 15 cluster (data
 * checksums on): pgbench data, a table of random text, a tablespace; a stream
 * backup into an encrypted repository; restore; the real pg_verifybackup on the
 * restored directory; the restored server starts and every table's content is
 * identical to the source. Then an incremental after updating a contiguous 1%
 * of pgbench_accounts stores under 20% of the full and restores identical data.
 * Restore and verify run with one worker and with two ("jobs"), with the same
 * results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
static pgb_options *opts;
static char work[300];
static const char *const tables[] = {"pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history",
                                     "notes", "archived", NULL};

static int run(const char *command)
{
    int status = system(command);
    if (status != 0)
        fprintf(stderr, "command failed (%d): %s\n", status, command);
    return status;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static int sql(const char *statement)
{
    char out[256];
    int rc = pg_fixture_psql(&server, statement, out, sizeof(out));
    if (rc != 0)
        fprintf(stderr, "SQL failed: %s: %s\n", statement, out);
    return rc;
}

static int setup(void)
{
    static const char *const settings[] = {"max_wal_senders = 4", "wal_level = replica", NULL};
    if (pg_fixture_start(&server, settings) != 0) {
        fprintf(stderr, "fixture: %s\n", server.error);
        return 1;
    }
    snprintf(work, sizeof(work), "%s/work", server.dir);
    char command[4096];
    snprintf(command, sizeof(command), "mkdir -p '%s/ts' && %s/pgbench -q -i -s 5 -h 127.0.0.1 -p %d -U postgres postgres",
             work, server.bindir, server.port);
    if (run(command) != 0)
        return 1;
    char statement[600];
    snprintf(statement, sizeof(statement), "CREATE TABLESPACE archive LOCATION '%s/ts'", work);
    if (sql(statement) ||
        sql("CREATE TABLE notes AS SELECT g AS id, md5(random()::text) || repeat(md5(random()::text), 20) AS body"
            " FROM generate_series(1, 20000) g") ||
        sql("CREATE TABLE archived TABLESPACE archive AS SELECT g AS id, md5(g::text) AS h"
            " FROM generate_series(1, 50000) g") ||
        sql("CHECKPOINT"))
        return 1;
    char pass[400], repo_path[400];
    snprintf(pass, sizeof(pass), "%s/pass", work);
    snprintf(repo_path, sizeof(repo_path), "%s/repo", work);
    FILE *f = fopen(pass, "w");
    fputs("physical test passphrase\n", f);
    fclose(f);
    chmod(pass, 0600);
    if (pgb_ctx_new(&ctx) || pgb_options_new(&opts, ctx) || pgb_options_set(opts, "passphrase-file", pass) ||
        pgb_options_set(opts, "pg", server.conninfo) || pgb_options_set(opts, "checkpoint", "fast") ||
        pgb_storage_open(&storage, ctx, repo_path, NULL) || pgb_repo_init(&repo, storage, opts))
        return 1;
    return 0;
}

static int teardown(void)
{
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    pgb_options_free(opts);
    pgb_ctx_free(ctx);
    pg_fixture_stop(&server);
    return 0;
}

/* md5 of every row, in order, of each table: equal hashes mean equal content. */
static void table_hashes(int port, char hashes[][64])
{
    for (int i = 0; tables[i]; i++) {
        char command[2048], out[64] = "";
        snprintf(command, sizeof(command),
                 "%s/psql -X -At -h 127.0.0.1 -p %d -U postgres -d postgres -c "
                 "\"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM %s t\"",
                 server.bindir, port, tables[i]);
        FILE *p = popen(command, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        if (!fgets(out, sizeof(out), p))
            out[0] = '\0';
        pclose(p);
        out[strcspn(out, "\n")] = '\0';
        CU_ASSERT_EQUAL(strlen(out), 32);
        snprintf(hashes[i], 64, "%s", out);
    }
}

static json_int_t full_stored_size; /* of the full backup of the incremental test */

static json_t *back_up(int incremental)
{
    pgb_options_set(opts, "incremental", incremental ? "true" : "false");
    /* The incremental stores its chunks on the encoder thread (--jobs 2); the full on the calling thread. */
    pgb_options_set(opts, "jobs", incremental ? "2" : "1");
    pgb_job *job = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_job_new(&job, repo, opts), PGB_OK);
    int rc = pgb_job_run(job);
    if (rc != PGB_OK)
        fprintf(stderr, "backup: %s (%s)\n", pgb_ctx_errmsg(ctx), pgb_ctx_errdetail(ctx));
    json_t *record = rc == PGB_OK ? json_loads(pgb_job_to_json(job), 0, NULL) : NULL;
    pgb_job_free(job);
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(record);
    return record;
}

/*
 * Restore backup id into target (tablespace to target-ts) with jobs workers, check it with
 * pg_verifybackup, start it, hash.
 */
static void restore_and_check(const char *id, const char *name, const char *jobs, char expected[][64])
{
    char target[400], ts[400], mapping[1024];
    snprintf(target, sizeof(target), "%s/%s", work, name);
    snprintf(ts, sizeof(ts), "%s/%s-ts", work, name);
    char oid[32];
    CU_ASSERT_EQUAL_FATAL(pg_fixture_psql(&server, "SELECT oid FROM pg_tablespace WHERE spcname = 'archive'", oid,
                                          sizeof(oid)), 0);
    snprintf(mapping, sizeof(mapping), "%s=%s", oid, ts);
    pgb_options *r;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&r, ctx), PGB_OK);
    pgb_options_set(r, "to", target);
    pgb_options_set(r, "backup", id);
    pgb_options_set(r, "tablespace-map", mapping);
    CU_ASSERT_EQUAL_FATAL(pgb_options_set(r, "jobs", jobs), PGB_OK);
    pgb_restore_plan *plan = NULL;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int rc = pgb_restore_plan_new(&plan, repo, r);
    if (rc == PGB_OK)
        rc = pgb_restore_plan_execute(plan);
    if (rc != PGB_OK)
        fprintf(stderr, "restore: %s\n", pgb_ctx_errmsg(ctx));
    else
        fprintf(stderr, "restore of %s with jobs %s: %.2f s\n", id, jobs, seconds_since(&start));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    pgb_restore_plan_free(plan);
    pgb_options_free(r);

    char command[4096];
    snprintf(command, sizeof(command), "%s/pg_verifybackup -q '%s'", server.bindir, target);
    CU_ASSERT_EQUAL(run(command), 0);
    int port = server.port + 1000 > 65000 ? server.port - 1000 : server.port + 1000;
    snprintf(command, sizeof(command),
             "%s/pg_ctl -D '%s' -l '%s.log' -w -t 120 -o \"-p %d -k '%s' -c listen_addresses=127.0.0.1\" start >/dev/null",
             server.bindir, target, target, port, work);
    CU_ASSERT_EQUAL_FATAL(run(command), 0);
    char hashes[8][64];
    table_hashes(port, hashes);
    for (int i = 0; tables[i]; i++) {
        if (strcmp(hashes[i], expected[i]) != 0)
            fprintf(stderr, "table %s differs after restore of %s\n", tables[i], id);
        CU_ASSERT_STRING_EQUAL(hashes[i], expected[i]);
    }
    snprintf(command, sizeof(command), "%s/pg_ctl -D '%s' -m fast -w stop >/dev/null && rm -rf '%s' '%s'",
             server.bindir, target, target, ts);
    CU_ASSERT_EQUAL(run(command), 0);
}

static json_t *full;

static void test_full_backup_restores_identical_data(void)
{
    char expected[8][64];
    table_hashes(server.port, expected);
    full = back_up(0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(full, "type")), "physical");
    CU_ASSERT(json_integer_value(json_object_get(json_object_get(full, "wal"), "count")) >= 1);
    CU_ASSERT(json_integer_value(json_object_get(full, "stored_size")) <
              json_integer_value(json_object_get(full, "database_size")));
    restore_and_check(json_string_value(json_object_get(full, "id")), "restored-full", "1", expected);
    restore_and_check(json_string_value(json_object_get(full, "id")), "restored-full-2", "2", expected);
}

static void test_incremental_stores_little_and_restores_identical_data(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(full);
    /* A contiguous 1% of the accounts (scale 5: 500000 rows). */
    CU_ASSERT_EQUAL_FATAL(sql("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 5000"), 0);
    CU_ASSERT_EQUAL_FATAL(sql("CHECKPOINT"), 0);
    char expected[8][64];
    table_hashes(server.port, expected);
    json_t *incremental = back_up(1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(incremental, "parent")),
                           json_string_value(json_object_get(full, "id")));
    json_int_t full_stored = json_integer_value(json_object_get(full, "stored_size"));
    json_int_t incremental_stored = json_integer_value(json_object_get(incremental, "stored_size"));
    fprintf(stderr, "full stored %lld bytes, incremental %lld bytes (%.1f%%)\n", (long long)full_stored,
            (long long)incremental_stored, 100.0 * (double)incremental_stored / (double)full_stored);
    CU_ASSERT(incremental_stored * 5 < full_stored);
    full_stored_size = full_stored;
    restore_and_check(json_string_value(json_object_get(incremental, "id")), "restored-incr", "2", expected);
    /* Both name their chunks after frames of the same compression, library version included. */
    const char *encoding = json_string_value(json_object_get(full, "chunk_encoding"));
    CU_ASSERT_PTR_NOT_NULL(encoding);
    CU_ASSERT_PTR_NOT_NULL(strstr(encoding ? encoding : "", "lib"));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(incremental, "chunk_encoding")), encoding ? encoding : "");
    json_decref(incremental);
    json_decref(full);
}

/* Log messages of level warning, appended to a buffer. */
static void keep_warnings(int level, const char *message, void *payload)
{
    char *kept = payload;
    if (level == PGB_LOG_WARNING && strlen(kept) + strlen(message) + 2 < 4096) {
        strcat(kept, message);
        strcat(kept, "\n");
    }
}

static void test_incremental_with_other_compression_warns_and_stores_every_chunk(void)
{
    static char warnings[4096];
    warnings[0] = '\0';
    CU_ASSERT_EQUAL(pgb_ctx_set_log(ctx, keep_warnings, warnings, PGB_LOG_WARNING), PGB_OK);
    pgb_options_set(opts, "compress", "lz4:1");
    json_t *other = back_up(1);
    pgb_options_set(opts, "compress", "zstd:3");
    pgb_ctx_set_log(ctx, NULL, NULL, PGB_LOG_ERROR);
    fprintf(stderr, "warnings: %s", warnings);
    CU_ASSERT_PTR_NOT_NULL(strstr(warnings, "stores every chunk once more"));
    CU_ASSERT_PTR_NOT_NULL(strstr(warnings, "lz4:1 liblz4"));
    /* Nothing of the parent is found again: it stores about as much as a full backup (an incremental, < 1/5). */
    json_int_t stored = json_integer_value(json_object_get(other, "stored_size"));
    fprintf(stderr, "incremental with lz4 after zstd stored %lld bytes, the full %lld\n", (long long)stored,
            (long long)full_stored_size);
    CU_ASSERT(full_stored_size > 0 && stored * 2 > full_stored_size);
    json_decref(other);
}

struct first_pack {
    char key[512];
};

static int find_pack(const char *key, uint64_t size, void *payload)
{
    struct first_pack *p = payload;
    if (size > 4096 && strstr(key, "/packs/") && !p->key[0])
        snprintf(p->key, sizeof(p->key), "%s", key);
    return 0;
}

/* Verify the newest backup with jobs workers ("1" through pgb_verify_backup); the report's JSON. */
static char *verify_json(const char *jobs)
{
    pgb_verify_report *report = NULL;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int rc;
    if (strcmp(jobs, "1") == 0) {
        rc = pgb_verify_backup(&report, repo, NULL);
    } else {
        pgb_options *v;
        CU_ASSERT_EQUAL_FATAL(pgb_options_new(&v, ctx), PGB_OK);
        CU_ASSERT_EQUAL_FATAL(pgb_options_set(v, "jobs", jobs), PGB_OK);
        rc = pgb_verify_backup_with_options(&report, repo, NULL, v);
        pgb_options_free(v);
    }
    if (rc != PGB_OK)
        fprintf(stderr, "verify: %s\n", pgb_ctx_errmsg(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    fprintf(stderr, "verify with jobs %s: %.2f s\n", jobs, seconds_since(&start));
    char *json = strdup(pgb_verify_report_to_json(report));
    pgb_verify_report_free(report);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    return json;
}

/* The first finding of a report's JSON: kind and path. */
static void first_finding(const char *json, const char **kind, const char **path, json_t **doc)
{
    *doc = json_loads(json, 0, NULL);
    json_t *problem = json_array_get(json_object_get(*doc, "problems"), 0);
    *kind = json_string_value(json_object_get(problem, "kind"));
    *path = json_string_value(json_object_get(problem, "path"));
}

static void test_verify_passes_then_finds_a_flipped_byte(void)
{
    char *one = verify_json("1"), *two = verify_json("2");
    json_t *doc = json_loads(one, 0, NULL);
    if (!json_is_true(json_object_get(doc, "ok")))
        fprintf(stderr, "verify: %s\n", one);
    CU_ASSERT(json_is_true(json_object_get(doc, "ok")));
    CU_ASSERT(json_integer_value(json_object_get(doc, "files_checked")) > 900);
    json_decref(doc);
    CU_ASSERT_STRING_EQUAL(two, one); /* the same report whatever the number of workers */
    free(one);
    free(two);

    struct first_pack pack = {{0}};
    CU_ASSERT_EQUAL_FATAL(pgb_storage_list(storage, "", find_pack, &pack), PGB_OK);
    CU_ASSERT_FATAL(pack.key[0] != '\0');
    void *data;
    size_t size;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_get(storage, pack.key, &data, &size), PGB_OK);
    ((uint8_t *)data)[size / 2] ^= 0x10;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_put(storage, pack.key, data, size, 0), PGB_OK);
    one = verify_json("1");
    two = verify_json("2");
    const char *kind, *path;
    first_finding(two, &kind, &path, &doc);
    CU_ASSERT(json_is_false(json_object_get(doc, "ok")));
    CU_ASSERT_STRING_EQUAL(kind ? kind : "", "checksum");
    CU_ASSERT(path && strlen(path) > 0);
    fprintf(stderr, "flipped byte found with jobs 2: %s\n", path ? path : "(none)");
    json_decref(doc);
    CU_ASSERT_STRING_EQUAL(two, one);
    free(one);
    free(two);
    ((uint8_t *)data)[size / 2] ^= 0x10; /* repair, for the tests after this one */
    CU_ASSERT_EQUAL(pgb_storage_put(storage, pack.key, data, size, 0), PGB_OK);
    pgb_free(data);
}

/* The newest backup's last WAL segment object: backup ids sort by time, segment names by position. */
static int find_newest_wal(const char *key, uint64_t size, void *payload)
{
    struct first_pack *p = payload;
    (void)size;
    if (strstr(key, "/content/") && strstr(key, "/wal/") && strcmp(key, p->key) > 0)
        snprintf(p->key, sizeof(p->key), "%s", key);
    return 0;
}

static void test_verify_finds_a_damaged_and_a_missing_wal_segment(void)
{
    struct first_pack wal = {{0}};
    CU_ASSERT_EQUAL_FATAL(pgb_storage_list(storage, "", find_newest_wal, &wal), PGB_OK);
    CU_ASSERT_FATAL(wal.key[0] != '\0');
    char expected[128];
    snprintf(expected, sizeof(expected), "pg_wal/%s", strrchr(wal.key, '/') + 1);
    void *data;
    size_t size;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_get(storage, wal.key, &data, &size), PGB_OK);

    ((uint8_t *)data)[size / 2] ^= 0x01;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_put(storage, wal.key, data, size, 0), PGB_OK);
    char *one = verify_json("1"), *two = verify_json("2");
    const char *kind, *path;
    json_t *doc;
    first_finding(two, &kind, &path, &doc);
    CU_ASSERT(json_is_false(json_object_get(doc, "ok")));
    CU_ASSERT_STRING_EQUAL(kind ? kind : "", "checksum");
    CU_ASSERT_STRING_EQUAL(path ? path : "", expected);
    json_decref(doc);
    CU_ASSERT_STRING_EQUAL(two, one);
    free(one);
    free(two);

    CU_ASSERT_EQUAL_FATAL(pgb_storage_remove(storage, wal.key), PGB_OK);
    two = verify_json("2");
    first_finding(two, &kind, &path, &doc);
    CU_ASSERT_STRING_EQUAL(kind ? kind : "", "wal-missing");
    CU_ASSERT_STRING_EQUAL(path ? path : "", expected);
    json_decref(doc);
    free(two);

    ((uint8_t *)data)[size / 2] ^= 0x01; /* put it back as it was, for the tests after this one */
    CU_ASSERT_EQUAL(pgb_storage_put(storage, wal.key, data, size, 0), PGB_OK);
    pgb_free(data);
    one = verify_json("2");
    doc = json_loads(one, 0, NULL);
    CU_ASSERT(json_is_true(json_object_get(doc, "ok")));
    json_decref(doc);
    free(one);
}

static void test_restore_refuses_a_running_cluster_and_a_busy_tablespace(void)
{
    pgb_options *r;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&r, ctx), PGB_OK);
    pgb_options_set(r, "to", server.datadir);
    pgb_restore_plan *plan = NULL;
    CU_ASSERT_EQUAL(pgb_restore_plan_new(&plan, repo, r), PGB_EREFUSED);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "is running"));
    char target[400];
    snprintf(target, sizeof(target), "%s/elsewhere", work);
    pgb_options_set(r, "to", target);
    CU_ASSERT_EQUAL(pgb_restore_plan_new(&plan, repo, r), PGB_EREFUSED); /* the live tablespace is not empty */
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "--tablespace-map"));
    pgb_options_set(r, "backup", "20000101T000000.000Z-none");
    CU_ASSERT_EQUAL(pgb_restore_plan_new(&plan, repo, r), PGB_ENOTFOUND);
    pgb_options_free(r);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"full_backup_restores_identical_data", test_full_backup_restores_identical_data},
        {"incremental_stores_little_and_restores_identical_data",
         test_incremental_stores_little_and_restores_identical_data},
        {"verify_passes_then_finds_a_flipped_byte", test_verify_passes_then_finds_a_flipped_byte},
        {"verify_finds_a_damaged_and_a_missing_wal_segment", test_verify_finds_a_damaged_and_a_missing_wal_segment},
        /* After the verify tests, which damage what the newest backup (then the zstd incremental) holds. */
        {"incremental_with_other_compression_warns_and_stores_every_chunk",
         test_incremental_with_other_compression_warns_and_stores_every_chunk},
        {"restore_refuses_a_running_cluster_and_a_busy_tablespace",
         test_restore_refuses_a_running_cluster_and_a_busy_tablespace},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"physical", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
