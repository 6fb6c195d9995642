/*
 * Parallel archiving and recovery against a real PostgreSQL 15 server:
 * archive_command = 'pgbackup wal-push --jobs 2 %p' archives a burst of ready
 * segments ahead of the archiver's own calls, which then return at once;
 * every segment lands in the repository, none fails. A base backup taken
 * before the burst is then recovered with restore_command = 'pgbackup
 * wal-fetch --prefetch 4 %f %p': segments are served from the spool, and the
 * promoted copy holds exactly the source's data, with no WAL left behind in
 * the spool.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "pg_fixture.h"
#include "test_main.h"

#define SEGMENTS_PER_ID 256 /* 16 MiB segments, initdb's default */
#define BURST 12

static struct pg_fixture server;
static pgb_ctx *ctx;
static pgb_storage *storage;
static pgb_repo *repo;
static char cli[PATH_MAX];
static char work[64];
static char repo_path[128];
static char pause_file[128];
static char base_backup[400];
static int base_backup_ok;

/* The CLI built beside this test: <build>/tests/<this> and <build>/examples/pgbackup. */
static int find_cli(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(cli, sizeof(cli), "%.*s/../examples/pgbackup", PATH_MAX - 32, self);
    return access(cli, X_OK);
}

static int sql(const char *statement, char *out, size_t size)
{
    int rc = pg_fixture_psql(&server, statement, out, size);
    if (rc != 0)
        fprintf(stderr, "SQL failed: %s: %s\n", statement, out ? out : "");
    return rc;
}

static uint64_t segno_of(const char *name)
{
    unsigned timeline, log, seg;
    if (sscanf(name, "%8X%8X%8X", &timeline, &log, &seg) != 3)
        return 0;
    return (uint64_t)log * SEGMENTS_PER_ID + seg;
}

/* How many lines of file hold text. */
static int count_lines(const char *file, const char *text)
{
    char command[1024], out[32] = "";
    snprintf(command, sizeof(command), "grep -c -F '%s' '%s'", text, file);
    FILE *pipe = popen(command, "r");
    if (!pipe)
        return -1;
    if (!fgets(out, sizeof(out), pipe))
        out[0] = '\0';
    pclose(pipe);
    return atoi(out);
}

/* How many entries of folder end with suffix (0 for a missing folder). */
static int count_entries(const char *folder, const char *suffix)
{
    char command[1024], out[32] = "";
    snprintf(command, sizeof(command), "ls -A '%s' 2>/dev/null | grep -c -e '%s$'", folder, suffix);
    FILE *pipe = popen(command, "r");
    if (!pipe)
        return -1;
    if (!fgets(out, sizeof(out), pipe))
        out[0] = '\0';
    pclose(pipe);
    return atoi(out);
}

static int setup(void)
{
    if (find_cli() != 0) {
        fprintf(stderr, "the pgbackup CLI is not at %s\n", cli);
        return 1;
    }
    snprintf(work, sizeof(work), "/tmp/pgb-walpar-XXXXXX");
    if (!mkdtemp(work))
        return 1;
    snprintf(repo_path, sizeof(repo_path), "%s/repo", work);
    snprintf(pause_file, sizeof(pause_file), "%s/pause", work);
    if (pgb_ctx_new(&ctx) || pgb_storage_open(&storage, ctx, repo_path, NULL) || pgb_repo_init(&repo, storage, NULL)) {
        fprintf(stderr, "repository: %s\n", pgb_ctx_errmsg(ctx));
        return 1;
    }
    /* While the pause file exists the archiver's call waits, as behind a slow repository, and segments pile up. */
    char archive_command[PATH_MAX + 512];
    snprintf(archive_command, sizeof(archive_command), "archive_command = 'while test -f %s; do sleep 0.1; done; "
             "exec %s --repo %s --log-level debug wal-push --jobs 2 %%p'", pause_file, cli, repo_path);
    const char *const settings[] = {"wal_level = replica", "archive_mode = on", archive_command,
                                    "max_wal_senders = 4", NULL};
    if (pg_fixture_start(&server, settings) != 0) {
        fprintf(stderr, "fixture: %s\n", server.error);
        return 1;
    }
    return 0;
}

static int teardown(void)
{
    unlink(pause_file);
    pg_fixture_stop(&server);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    pgb_ctx_free(ctx);
    char command[256];
    snprintf(command, sizeof(command), "chmod -R u+rwX '%s'; rm -rf '%s'", work, work);
    return system(command) != 0;
}

static int archiver_counts(long *archived, long *failed)
{
    char out[128];
    return sql("SELECT archived_count || ' ' || failed_count FROM pg_stat_archiver", out, sizeof(out)) == 0 &&
                   sscanf(out, "%ld %ld", archived, failed) == 2
               ? 0
               : -1;
}

static void test_a_burst_of_ready_segments_is_pushed_ahead_and_every_one_archived(void)
{
    char out[256], command[PATH_MAX + 1024], first[64], last[64] = "";
    CU_ASSERT_EQUAL_FATAL(sql("CREATE TABLE items AS SELECT g AS id, md5(g::text) AS body FROM "
                              "generate_series(1, 20000) g",
                              out, sizeof(out)),
                          0);
    snprintf(base_backup, sizeof(base_backup), "%s/base", server.dir);
    snprintf(command, sizeof(command), "%s/pg_basebackup -h 127.0.0.1 -p %d -U postgres -D '%s' -X none -c fast "
             ">'%s/basebackup.log' 2>&1", server.bindir, server.port, base_backup, work);
    base_backup_ok = system(command) == 0;
    CU_ASSERT_FATAL(base_backup_ok);
    /* Let the archiver finish what the backup left ready, so that the counts below are the burst's alone. */
    char status[400];
    snprintf(status, sizeof(status), "%s/pg_wal/archive_status", server.datadir);
    for (int i = 0; i < 600 && count_entries(status, "\\.ready") > 0; i++)
        usleep(100 * 1000);
    long archived_before = 0, failed = 0;
    CU_ASSERT_EQUAL_FATAL(archiver_counts(&archived_before, &failed), 0);
    /* The burst's segments are the ones after the last archived. */
    CU_ASSERT_EQUAL_FATAL(sql("SELECT last_archived_wal FROM pg_stat_archiver", first, sizeof(first)), 0);

    /* The burst: BURST segments switched while the archiver is held back. */
    FILE *f = fopen(pause_file, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    for (int round = 0; round < BURST; round++) {
        CU_ASSERT_EQUAL_FATAL(sql("INSERT INTO items SELECT g, md5(random()::text) FROM generate_series(1, 5000) g",
                                  out, sizeof(out)),
                              0);
        CU_ASSERT_EQUAL_FATAL(sql("SELECT pg_walfile_name(pg_switch_wal())", last, sizeof(last)), 0);
    }
    CU_ASSERT(count_entries(status, "\\.ready") >= BURST - 1);
    unlink(pause_file);

    long expected = archived_before + (long)(segno_of(last) - segno_of(first)), archived = 0;
    for (int i = 0; i < 1200 && archiver_counts(&archived, &failed) == 0 && archived < expected && failed == 0; i++)
        usleep(100 * 1000);
    CU_ASSERT_EQUAL(failed, 0);
    CU_ASSERT_EQUAL(archived, expected);
    if (failed != 0 || archived != expected) {
        fprintf(stderr, "archived %ld of %ld expected (after %s to %s), %ld failed\n", archived, expected, first, last, failed);
        snprintf(command, sizeof(command), "grep -i -e archive -e pgbackup '%s/server.log' | tail -40 >&2", server.dir);
        CU_ASSERT_EQUAL(system(command), 0);
    }

    /* Every segment of the burst is in the repository with its checksum record. */
    for (uint64_t segno = segno_of(first) + 1; segno <= segno_of(last); segno++) {
        char key[256];
        snprintf(key, sizeof(key), "clusters/main/wal/00000001/%08X%08X%08X", 1u, (unsigned)(segno / SEGMENTS_PER_ID),
                 (unsigned)(segno % SEGMENTS_PER_ID));
        CU_ASSERT_EQUAL(pgb_storage_stat(storage, key, NULL), PGB_OK);
        strcat(key, ".sum");
        CU_ASSERT_EQUAL(pgb_storage_stat(storage, key, NULL), PGB_OK);
    }
    /* Most calls of the burst were answered by a push-ahead marker, and every marker was used up. */
    char log[400], spool[400];
    snprintf(log, sizeof(log), "%s/server.log", server.dir);
    int ahead = count_lines(log, "was archived ahead by an earlier wal-push");
    CU_ASSERT(ahead >= BURST / 2);
    snprintf(spool, sizeof(spool), "%s/pg_wal/pgbackup.spool", server.datadir);
    CU_ASSERT_EQUAL(count_entries(spool, "\\.pushed"), 0);
    if (ahead < BURST / 2) {
        snprintf(command, sizeof(command), "grep pgbackup '%s' | tail -40 >&2", log);
        CU_ASSERT_EQUAL(system(command), 0);
    }
}

static void test_recovery_with_prefetch_serves_from_the_spool_and_reaches_the_same_data(void)
{
    CU_ASSERT_FATAL(base_backup_ok);
    char expected[256], got[256] = "", command[4 * PATH_MAX + 8192];
    const char *checksum = "SELECT count(*) || ' ' || md5(string_agg(id || body, ',' ORDER BY id, body)) FROM items";
    CU_ASSERT_EQUAL_FATAL(sql(checksum, expected, sizeof(expected)), 0);

    struct pg_fixture copy;
    CU_ASSERT_EQUAL_FATAL(pg_fixture_start(&copy, NULL), 0);
    snprintf(command, sizeof(command), "%s/pg_ctl -D '%s' -m fast -w stop >/dev/null && rm -rf '%s' && mv '%s' '%s' && "
             "touch '%s/recovery.signal' && printf \"port = %d\\nunix_socket_directories = '%s'\\narchive_mode = off\\n"
             "restore_command = '%s --repo %s --log-level debug wal-fetch --prefetch 4 %%%%f %%%%p'\\n\" "
             ">>'%s/postgresql.conf' && %s/pg_ctl -D '%s' -l '%s/server.log' -w -t 120 start >/dev/null",
             copy.bindir, copy.datadir, copy.datadir, base_backup, copy.datadir, copy.datadir, copy.port, copy.dir,
             cli, repo_path, copy.datadir, copy.bindir, copy.datadir, copy.dir);
    int started = system(command) == 0;
    CU_ASSERT(started);
    for (int i = 0; started && i < 600; i++) {
        char state[32] = "";
        if (pg_fixture_psql(&copy, "SELECT pg_is_in_recovery()", state, sizeof(state)) == 0 &&
            strcmp(state, "f") == 0)
            break;
        usleep(100 * 1000);
    }
    if (started)
        pg_fixture_psql(&copy, checksum, got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, expected);

    char log[400], spool[400];
    snprintf(log, sizeof(log), "%s/server.log", copy.dir);
    CU_ASSERT(count_lines(log, "served from the spool") >= BURST / 2);
    CU_ASSERT(count_lines(log, "archive recovery complete") == 1);
    /* The end of the archive ("not archived") cleared the spool: no WAL is left behind in pg_wal. */
    snprintf(spool, sizeof(spool), "%s/pg_wal/pgbackup.spool", copy.datadir);
    CU_ASSERT_EQUAL(count_entries(spool, "\\.segment"), 0);
    pg_fixture_stop(&copy);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"a_burst_of_ready_segments_is_pushed_ahead_and_every_one_archived",
         test_a_burst_of_ready_segments_is_pushed_ahead_and_every_one_archived},
        {"recovery_with_prefetch_serves_from_the_spool_and_reaches_the_same_data",
         test_recovery_with_prefetch_serves_from_the_spool_and_reaches_the_same_data},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"wal_parallel_integration", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
