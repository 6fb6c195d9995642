/*
 * Physical backups in local mode end to end against a real PostgreSQL 15
 * cluster (data checksums on): pgbench data, a table of random text, a
 * tablespace; a local backup with two copy workers into an encrypted
 * repository; restore with the tablespace mapped elsewhere; the real
 * pg_verifybackup on the restored directory (so the backup_manifest we wrote
 * and the streamed WAL are what the server's tools expect); the restored
 * server starts and every table's content is identical to the source. Then an
 * incremental after updating a contiguous 1% of pgbench_accounts stores under
 * 20% of the full and restores identical data; both verify in the repository.
 * A data directory of another cluster is refused, whether the role may read
 * data_directory or not. A page damaged on purpose fails the backup, naming
 * the relation's file and the block, and nothing is committed; with
 * allow-bad-pages (and one worker) the backup commits and its record lists it.
 */
#include <fcntl.h>
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
        sql("CREATE UNLOGGED TABLE scratch AS SELECT g FROM generate_series(1, 1000) g") ||
        sql("CHECKPOINT"))
        return 1;
    char pass[400], repo_path[400];
    snprintf(pass, sizeof(pass), "%s/pass", work);
    snprintf(repo_path, sizeof(repo_path), "%s/repo", work);
    FILE *f = fopen(pass, "w");
    fputs("local test passphrase\n", f);
    fclose(f);
    chmod(pass, 0600);
    if (pgb_ctx_new(&ctx) || pgb_options_new(&opts, ctx) || pgb_options_set(opts, "passphrase-file", pass) ||
        pgb_options_set(opts, "pg", server.conninfo) || pgb_options_set(opts, "checkpoint", "fast") ||
        pgb_options_set(opts, "mode", "local") || pgb_options_set(opts, "pgdata", server.datadir) ||
        pgb_options_set(opts, "jobs", "2") || pgb_storage_open(&storage, ctx, repo_path, NULL) ||
        pgb_repo_init(&repo, storage, opts))
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

static size_t backup_count(void)
{
    pgb_backup_list *list = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_list(&list, repo), PGB_OK);
    size_t count = pgb_backup_list_count(list);
    pgb_backup_list_free(list);
    return count;
}

/* Run a backup with o; its code, and the record when it committed. */
static int try_backup(const pgb_options *o, json_t **record)
{
    *record = NULL;
    pgb_job *job = NULL;
    int rc = pgb_job_new(&job, repo, o);
    if (rc == PGB_OK)
        rc = pgb_job_run(job);
    if (rc == PGB_OK)
        *record = json_loads(pgb_job_to_json(job), 0, NULL);
    pgb_job_free(job);
    return rc;
}

static json_t *back_up(int incremental)
{
    pgb_options_set(opts, "incremental", incremental ? "true" : "false");
    json_t *record = NULL;
    int rc = try_backup(opts, &record);
    if (rc != PGB_OK)
        fprintf(stderr, "backup: %s (%s)\n", pgb_ctx_errmsg(ctx), pgb_ctx_errdetail(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(record);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(record, "mode")), "local");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(record, "jobs")), 2);
    CU_ASSERT_EQUAL(json_is_true(json_object_get(record, "data_checksums_verified")), 1);
    CU_ASSERT_PTR_NULL(json_object_get(record, "bad_pages"));
    return record;
}

/* Restore backup id into target (tablespace to target-ts), check it with pg_verifybackup, start it, hash. */
static void restore_and_check(const char *id, const char *name, char expected[][64])
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
    pgb_restore_plan *plan = NULL;
    int rc = pgb_restore_plan_new(&plan, repo, r);
    if (rc == PGB_OK)
        rc = pgb_restore_plan_execute(plan);
    if (rc != PGB_OK)
        fprintf(stderr, "restore: %s\n", pgb_ctx_errmsg(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    pgb_restore_plan_free(plan);
    pgb_options_free(r);

    char command[4096];
    snprintf(command, sizeof(command), "%s/pg_verifybackup -q '%s'", server.bindir, target);
    CU_ASSERT_EQUAL(run(command), 0);
    /* The tablespace came back at its mapped location, through the link. */
    char link[600], points_to[400] = "";
    snprintf(link, sizeof(link), "%s/pg_tblspc/%s", target, oid);
    ssize_t n = readlink(link, points_to, sizeof(points_to) - 1);
    CU_ASSERT(n > 0);
    points_to[n > 0 ? n : 0] = '\0';
    CU_ASSERT_STRING_EQUAL(points_to, ts);
    /* No backup_label-less start: the label is there, and no tablespace_map (the links are re-pointed). */
    snprintf(command, sizeof(command), "test -s '%s/backup_label' && test ! -e '%s/tablespace_map'", target, target);
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

static json_t *full, *incremental;

static void test_local_backup_with_two_jobs_restores_identical_data(void)
{
    char expected[8][64];
    table_hashes(server.port, expected);
    full = back_up(0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(full, "type")), "physical");
    CU_ASSERT(json_integer_value(json_object_get(json_object_get(full, "wal"), "count")) >= 1);
    CU_ASSERT(json_integer_value(json_object_get(full, "stored_size")) <
              json_integer_value(json_object_get(full, "database_size")));
    json_t *tablespaces = json_object_get(full, "tablespaces");
    CU_ASSERT_EQUAL(json_array_size(tablespaces), 1);
    char location[400];
    snprintf(location, sizeof(location), "%s/ts", work);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(tablespaces, 0), "location")), location);
    restore_and_check(json_string_value(json_object_get(full, "id")), "restored-full", expected);
}

static void test_local_incremental_stores_little_and_restores_identical_data(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(full);
    /* A contiguous 1% of the accounts (scale 5: 500000 rows). */
    CU_ASSERT_EQUAL_FATAL(sql("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 5000"), 0);
    CU_ASSERT_EQUAL_FATAL(sql("CHECKPOINT"), 0);
    char expected[8][64];
    table_hashes(server.port, expected);
    incremental = back_up(1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(incremental, "parent")),
                           json_string_value(json_object_get(full, "id")));
    CU_ASSERT_EQUAL(json_is_true(json_object_get(incremental, "incremental")), 1);
    json_int_t full_stored = json_integer_value(json_object_get(full, "stored_size"));
    json_int_t incremental_stored = json_integer_value(json_object_get(incremental, "stored_size"));
    fprintf(stderr, "local: full stored %lld bytes, incremental %lld bytes (%.1f%%)\n", (long long)full_stored,
            (long long)incremental_stored, 100.0 * (double)incremental_stored / (double)full_stored);
    CU_ASSERT(incremental_stored * 5 < full_stored);
    /* Its file list is complete on its own: as many files as the full, give or take what the server changed. */
    json_int_t files = json_integer_value(json_object_get(incremental, "files"));
    json_int_t full_files = json_integer_value(json_object_get(full, "files"));
    CU_ASSERT(files > full_files - 20 && files < full_files + 20);
    restore_and_check(json_string_value(json_object_get(incremental, "id")), "restored-incr", expected);
}

static void verify_one(const char *id)
{
    pgb_verify_report *report = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_verify_backup(&report, repo, id), PGB_OK);
    if (!pgb_verify_report_ok(report))
        fprintf(stderr, "verify %s: %s\n", id, pgb_verify_report_to_json(report));
    CU_ASSERT_EQUAL(pgb_verify_report_ok(report), 1);
    json_t *doc = json_loads(pgb_verify_report_to_json(report), 0, NULL);
    CU_ASSERT(json_integer_value(json_object_get(doc, "files_checked")) > 900);
    json_decref(doc);
    pgb_verify_report_free(report);
}

static void test_local_backups_verify_in_the_repository(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(incremental);
    verify_one(json_string_value(json_object_get(full, "id")));
    verify_one(json_string_value(json_object_get(incremental, "id")));
}

struct stopper {
    int reports_in_copy;
    uint64_t bytes_when_stopped;
};

/* Ask to stop once the workers have copied something. */
static int stop_during_copy(const pgb_progress *p, void *payload)
{
    struct stopper *s = payload;
    if (strcmp(pgb_progress_phase(p), "copy") != 0 || pgb_progress_bytes_done(p) == 0)
        return 0;
    s->reports_in_copy++;
    s->bytes_when_stopped = pgb_progress_bytes_done(p);
    return 1;
}

static void test_progress_callback_stops_the_workers(void)
{
    size_t before = backup_count();
    struct stopper stopper = {0};
    pgb_ctx_set_progress(ctx, stop_during_copy, &stopper);
    pgb_options_set(opts, "incremental", "false");
    json_t *record = NULL;
    int rc = try_backup(opts, &record);
    pgb_ctx_set_progress(ctx, NULL, NULL);
    CU_ASSERT_EQUAL(rc, PGB_ECANCELED);
    CU_ASSERT_EQUAL(stopper.reports_in_copy, 1);
    CU_ASSERT(stopper.bytes_when_stopped > 0);
    CU_ASSERT_PTR_NULL(record);
    CU_ASSERT_EQUAL(backup_count(), before);
    /* The sessions are gone: no backup left running, no slot holding WAL (their backends exit soon after). */
    char out[64] = "";
    for (int i = 0; i < 50; i++) {
        CU_ASSERT_EQUAL(pg_fixture_psql(&server, "SELECT (SELECT count(*) FROM pg_replication_slots) + "
                                                 "(SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                                 "'pgbackup')", out, sizeof(out)), 0);
        if (strcmp(out, "0") == 0)
            break;
        usleep(100 * 1000);
    }
    CU_ASSERT_STRING_EQUAL(out, "0");
}

static void test_another_clusters_data_directory_is_refused(void)
{
    char other[400], command[2048];
    snprintf(other, sizeof(other), "%s/other", work);
    snprintf(command, sizeof(command), "%s/initdb -D '%s' -U postgres -A trust --no-sync >/dev/null 2>&1",
             server.bindir, other);
    CU_ASSERT_EQUAL_FATAL(run(command), 0);
    size_t before = backup_count();
    pgb_options *o;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    pgb_options_set(o, "mode", "local");
    pgb_options_set(o, "pg", server.conninfo);
    pgb_options_set(o, "pgdata", other);
    json_t *record = NULL;

    /* A superuser reads data_directory: the folders differ. */
    CU_ASSERT_EQUAL(try_backup(o, &record), PGB_EREFUSED);
    fprintf(stderr, "refused: %s\n", pgb_ctx_errmsg(ctx));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "is not the data directory of the server"));

    /* A role that may not read it: the system identifier in pg_control tells. */
    CU_ASSERT_EQUAL_FATAL(sql("CREATE ROLE copier LOGIN REPLICATION"), 0);
    char conninfo[600];
    snprintf(conninfo, sizeof(conninfo), "%s user=copier", server.conninfo);
    pgb_options_set(o, "pg", conninfo);
    CU_ASSERT_EQUAL(try_backup(o, &record), PGB_EREFUSED);
    fprintf(stderr, "refused: %s\n", pgb_ctx_errmsg(ctx));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "system identifier"));

    /* A folder that is no data directory at all. */
    pgb_options_set(o, "pgdata", work);
    CU_ASSERT_EQUAL(try_backup(o, &record), PGB_EREFUSED);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "pg_control"));

    /* Local mode without a data directory is a usage error. */
    pgb_options_unset(o, "pgdata");
    pgb_job *job = NULL;
    CU_ASSERT_EQUAL(pgb_job_new(&job, repo, o), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "pgdata"));
    CU_ASSERT_PTR_NULL(job);

    CU_ASSERT_EQUAL(backup_count(), before);
    CU_ASSERT_PTR_NULL(record);
    pgb_options_free(o);
}

/* Overwrite size bytes at offset of the file at path with pattern; the old bytes go to saved. */
static void damage(const char *path, off_t offset, size_t size, uint8_t *saved)
{
    int fd = open(path, O_RDWR);
    CU_ASSERT_FATAL(fd >= 0);
    uint8_t pattern[64];
    memset(pattern, 0xA5, sizeof(pattern));
    CU_ASSERT_EQUAL_FATAL(pread(fd, saved, size, offset), (ssize_t)size);
    CU_ASSERT_EQUAL_FATAL(pwrite(fd, pattern, size, offset), (ssize_t)size);
    fsync(fd);
    close(fd);
}

static void test_damaged_page_fails_the_backup_unless_allowed(void)
{
    /* A table nobody touches afterwards: no autovacuum, frozen and all-visible, flushed. */
    CU_ASSERT_EQUAL_FATAL(sql("CREATE TABLE damaged WITH (autovacuum_enabled = off) AS "
                              "SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 2000) g"), 0);
    CU_ASSERT_EQUAL_FATAL(sql("VACUUM (FREEZE) damaged"), 0);
    CU_ASSERT_EQUAL_FATAL(sql("CHECKPOINT"), 0);
    char relation[256], path[600], second_segment[620];
    CU_ASSERT_EQUAL_FATAL(pg_fixture_psql(&server, "SELECT pg_relation_filepath('damaged')", relation,
                                          sizeof(relation)), 0);
    snprintf(path, sizeof(path), "%s/%s", server.datadir, relation);
    /* Block 2: 32 bytes in the middle of the page, not its header, while the server runs. */
    uint8_t saved[32];
    damage(path, 2 * 8192 + 4096, sizeof(saved), saved);
    /*
     * And a second segment holding a copy of block 0: valid for block 0, not
     * for block 131072 of the relation, the number its place gives it (the
     * server never reads past a first segment that is not full).
     */
    snprintf(second_segment, sizeof(second_segment), "%s.1", path);
    char command[1400];
    snprintf(command, sizeof(command), "dd if='%s' of='%s' bs=8192 count=1 2>/dev/null", path, second_segment);
    CU_ASSERT_EQUAL_FATAL(run(command), 0);

    size_t before = backup_count();
    pgb_options_set(opts, "incremental", "false");
    json_t *record = NULL;
    CU_ASSERT_EQUAL(try_backup(opts, &record), PGB_ECORRUPT);
    const char *message = pgb_ctx_errmsg(ctx);
    fprintf(stderr, "damaged: %s\n", message);
    char first[300], second[300];
    snprintf(first, sizeof(first), "%s block 2", relation);
    snprintf(second, sizeof(second), "%s.1 block 131072", relation);
    CU_ASSERT_PTR_NOT_NULL(strstr(message, first));
    CU_ASSERT_PTR_NOT_NULL(strstr(message, second));
    CU_ASSERT_PTR_NOT_NULL(strstr(message, "2 data pages failed"));
    CU_ASSERT_PTR_NULL(record);
    CU_ASSERT_EQUAL(backup_count(), before);

    /* Allowed, and copied on the calling thread alone this time: the same pages are found. */
    pgb_options_set(opts, "allow-bad-pages", "true");
    pgb_options_set(opts, "jobs", "1");
    CU_ASSERT_EQUAL(try_backup(opts, &record), PGB_OK);
    pgb_options_unset(opts, "allow-bad-pages");
    pgb_options_set(opts, "jobs", "2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(record);
    CU_ASSERT_EQUAL(backup_count(), before + 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(record, "jobs")), 1);
    json_t *bad = json_object_get(record, "bad_pages");
    CU_ASSERT_EQUAL_FATAL(json_array_size(bad), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(bad, 0), "path")), relation);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(bad, 0), "block")), 2);
    char relation_second[300];
    snprintf(relation_second, sizeof(relation_second), "%s.1", relation);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(bad, 1), "path")), relation_second);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(bad, 1), "block")), 131072);
    json_decref(record);

    /* Put the page back, for whoever looks at this cluster next. */
    int fd = open(path, O_WRONLY);
    CU_ASSERT_EQUAL(pwrite(fd, saved, sizeof(saved), 2 * 8192 + 4096), (ssize_t)sizeof(saved));
    close(fd);
    unlink(second_segment);
    json_decref(incremental);
    json_decref(full);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"local_backup_with_two_jobs_restores_identical_data", test_local_backup_with_two_jobs_restores_identical_data},
        {"local_incremental_stores_little_and_restores_identical_data",
         test_local_incremental_stores_little_and_restores_identical_data},
        {"local_backups_verify_in_the_repository", test_local_backups_verify_in_the_repository},
        {"progress_callback_stops_the_workers", test_progress_callback_stops_the_workers},
        {"another_clusters_data_directory_is_refused", test_another_clusters_data_directory_is_refused},
        {"damaged_page_fails_the_backup_unless_allowed", test_damaged_page_fails_the_backup_unless_allowed},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"physical_local", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
