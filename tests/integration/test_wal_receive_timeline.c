/*
 * The WAL receiver across a timeline switch: it streams from a standby of a
 * PostgreSQL 15 primary, the standby is promoted while it streams, and the
 * receiver follows onto timeline 2 (history file archived, timeline 1's last
 * segment kept as a partial). A base backup of the primary taken without WAL
 * is then recovered from received WAL alone with recovery_target_timeline
 * latest, and holds the rows committed on both timelines.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "pg_fixture.h"
#include "test_main.h"
#include "wal_receiver_thread.h"

#define SEGMENT_SIZE (UINT64_C(16) * 1024 * 1024)
#define SEGMENTS_PER_ID (UINT64_C(0x100000000) / SEGMENT_SIZE)

static struct pg_fixture primary, standby;
static int standby_ok;
static char cli[PATH_MAX];
static char work[64];
static char repo_path[128];
static char base_backup[200];
static pgb_ctx *ctx;
static pgb_storage *storage;
static pgb_repo *repo;
static struct receiving receiving = {.log_lock = PTHREAD_MUTEX_INITIALIZER};
static uint64_t switch_lsn;

static const char *const checksum_sql =
    "SELECT count(*) || ' ' || md5(string_agg(id || body, ',' ORDER BY id)) FROM items";

static int sql_on(const struct pg_fixture *f, const char *statement, char *out, size_t size)
{
    char ignored[256];
    if (!out) {
        out = ignored;
        size = sizeof(ignored);
    }
    int rc = pg_fixture_psql(f, statement, out, size);
    if (rc != 0)
        fprintf(stderr, "SQL failed on port %d: %s: %s\n", f->port, statement, out);
    return rc;
}

static uint64_t lsn_on(const struct pg_fixture *f, const char *statement)
{
    char out[64] = "";
    CU_ASSERT_EQUAL_FATAL(sql_on(f, statement, out, sizeof(out)), 0);
    uint64_t lsn = receiving_parse_lsn(out);
    CU_ASSERT_FATAL(lsn != 0);
    return lsn;
}

static int archived(uint32_t timeline, const char *name)
{
    char key[256];
    snprintf(key, sizeof(key), "clusters/main/wal/%08X/%s", (unsigned)timeline, name);
    int found = pgb_storage_stat(storage, key, NULL) == PGB_OK;
    snprintf(key, sizeof(key), "clusters/main/wal/%08X/%s.sum", (unsigned)timeline, name);
    return found && pgb_storage_stat(storage, key, NULL) == PGB_OK;
}

static void segment_name(uint32_t timeline, uint64_t segno, const char *suffix, char *out, size_t size)
{
    snprintf(out, size, "%08X%08X%08X%s", (unsigned)timeline, (unsigned)(segno / SEGMENTS_PER_ID),
             (unsigned)(segno % SEGMENTS_PER_ID), suffix);
}

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

/* Put a data directory made by pg_basebackup in place of a fixture's fresh one, with its own port, and start it. */
static int replace_and_start(struct pg_fixture *f, const char *source, const char *extra_settings)
{
    char command[4 * PATH_MAX + 2048];
    snprintf(command, sizeof(command), "%s/pg_ctl -D '%s' -m fast -w stop >/dev/null && rm -rf '%s' && mv '%s' '%s' "
             "&& printf \"port = %d\\nunix_socket_directories = '%s'\\n%s\" >>'%s/postgresql.conf' && "
             "%s/pg_ctl -D '%s' -l '%s/server.log' -w -t 120 start >/dev/null",
             f->bindir, f->datadir, f->datadir, source, f->datadir, f->port, f->dir, extra_settings, f->datadir,
             f->bindir, f->datadir, f->dir);
    return system(command) == 0 ? 0 : -1;
}

static int setup(void)
{
    if (find_cli() != 0) {
        fprintf(stderr, "the pgbackup CLI is not beside this test\n");
        return 1;
    }
    snprintf(work, sizeof(work), "/tmp/pgb-walrecv-tl-XXXXXX");
    if (!mkdtemp(work))
        return 1;
    snprintf(repo_path, sizeof(repo_path), "%s/repo", work);
    if (pgb_ctx_new(&ctx) || pgb_storage_open(&storage, ctx, repo_path, NULL) || pgb_repo_init(&repo, storage, NULL)) {
        fprintf(stderr, "repository: %s\n", pgb_ctx_errmsg(ctx));
        return 1;
    }
    static const char *const settings[] = {"wal_level = replica", "archive_mode = off", "max_wal_senders = 6",
                                           "hot_standby = on", NULL};
    if (pg_fixture_start(&primary, settings) != 0 || pg_fixture_start(&standby, settings) != 0) {
        fprintf(stderr, "fixture: %s%s\n", primary.error, standby.error);
        return 1;
    }
    /* The standby: a copy of the primary that streams from it (-R writes standby.signal and primary_conninfo). */
    char copy[200], command[PATH_MAX + 1024];
    snprintf(copy, sizeof(copy), "%s/standby-copy", work);
    snprintf(command, sizeof(command), "%s/pg_basebackup -h 127.0.0.1 -p %d -U postgres -D '%s' -X stream -R -c fast "
             ">'%s/standby.log' 2>&1", primary.bindir, primary.port, copy, work);
    standby_ok = system(command) == 0 && replace_and_start(&standby, copy, "") == 0;
    if (!standby_ok)
        fprintf(stderr, "the standby did not start\n");
    return 0;
}

static int teardown(void)
{
    if (receiving.started)
        receiving_stop(&receiving);
    pg_fixture_stop(&standby);
    pg_fixture_stop(&primary);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    pgb_ctx_free(ctx);
    char command[256];
    snprintf(command, sizeof(command), "rm -rf '%s'", work);
    return system(command) != 0;
}

static void test_rows_on_the_primary_reach_the_archive_through_the_standby(void)
{
    CU_ASSERT_FATAL(standby_ok);
    char out[64] = "";
    CU_ASSERT_EQUAL(sql_on(&standby, "SELECT pg_is_in_recovery()", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL_FATAL(out, "t");
    CU_ASSERT_EQUAL_FATAL(receiving_start(&receiving, repo_path, standby.conninfo, "200", NULL), 0);
    for (int i = 0; i < 600 && pgb_wal_receiver_timeline(receiving.receiver) == 0; i++)
        usleep(100 * 1000);
    CU_ASSERT_EQUAL(pgb_wal_receiver_timeline(receiving.receiver), 1);

    /* The primary's base backup, without WAL, taken once the receiver streams from the standby. */
    char command[PATH_MAX + 1024];
    snprintf(base_backup, sizeof(base_backup), "%s/base", work);
    snprintf(command, sizeof(command), "%s/pg_basebackup -h 127.0.0.1 -p %d -U postgres -D '%s' -X none -c fast "
             ">'%s/basebackup.log' 2>&1", primary.bindir, primary.port, base_backup, work);
    CU_ASSERT_EQUAL_FATAL(system(command), 0);
    CU_ASSERT_EQUAL_FATAL(sql_on(&primary, "CREATE TABLE items (id int PRIMARY KEY, body text)", NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(sql_on(&primary, "INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 40000) g",
                                 NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(sql_on(&primary, "SELECT pg_switch_wal()", NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(sql_on(&primary, "INSERT INTO items VALUES (0, 'last on timeline 1')", NULL, 0), 0);
    uint64_t end = lsn_on(&primary, "SELECT pg_current_wal_flush_lsn()");
    CU_ASSERT_FATAL(receiving_wait_flushed(&receiving, end));
}

static void test_the_receiver_follows_the_promoted_standby_onto_timeline_2(void)
{
    CU_ASSERT_FATAL(standby_ok && receiving.started);
    char out[64] = "";
    CU_ASSERT_EQUAL_FATAL(sql_on(&standby, "SELECT pg_promote()", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL_FATAL(out, "t");
    for (int i = 0; i < 600 && pgb_wal_receiver_timeline(receiving.receiver) != 2; i++)
        usleep(100 * 1000);
    if (pgb_wal_receiver_timeline(receiving.receiver) != 2)
        fprintf(stderr, "\nreceiver:\n%s", receiving.log);
    CU_ASSERT_EQUAL_FATAL(pgb_wal_receiver_timeline(receiving.receiver), 2);
    CU_ASSERT(receiving_logged(&receiving, "timeline 1 ends at"));
    CU_ASSERT(receiving_logged(&receiving, "timeline history file 00000002.history archived"));

    /* Rows committed on the new timeline. */
    CU_ASSERT_EQUAL_FATAL(sql_on(&standby, "INSERT INTO items SELECT g, 'timeline 2' FROM generate_series(40001, "
                                 "40500) g", NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(sql_on(&standby, "UPDATE items SET body = 'changed on timeline 2' WHERE id = 0", NULL, 0),
                          0);
    uint64_t end = lsn_on(&standby, "SELECT pg_current_wal_flush_lsn()");
    CU_ASSERT_FATAL(receiving_wait_flushed(&receiving, end));
    CU_ASSERT_EQUAL(receiving_stop(&receiving), PGB_OK);

    /* The switch point is in timeline 2's history; timeline 1's last segment is kept as a partial. */
    char history[256] = "";
    CU_ASSERT_EQUAL_FATAL(sql_on(&standby, "SELECT content FROM pg_read_file('pg_wal/00000002.history') AS content",
                                 history, sizeof(history)), 0);
    char *tab = strchr(history, '\t');
    CU_ASSERT_PTR_NOT_NULL_FATAL(tab);
    switch_lsn = receiving_parse_lsn(tab + 1);
    CU_ASSERT_FATAL(switch_lsn != 0);
    uint64_t segno = switch_lsn / SEGMENT_SIZE;
    char name[64];
    CU_ASSERT(archived(2, "00000002.history"));
    segment_name(1, segno, ".partial", name, sizeof(name));
    CU_ASSERT(archived(1, name));
    segment_name(1, segno, "", name, sizeof(name));
    CU_ASSERT_FALSE(archived(1, name));
    /* The history file comes back as the server wrote it. */
    char fetched[200], command[PATH_MAX + 600];
    snprintf(fetched, sizeof(fetched), "%s/00000002.history", work);
    CU_ASSERT_EQUAL(pgb_wal_fetch(repo, "00000002.history", fetched), PGB_OK);
    snprintf(command, sizeof(command), "cmp -s '%s' '%s/pg_wal/00000002.history'", fetched, standby.datadir);
    CU_ASSERT_EQUAL(system(command), 0);
}

/* The primary's backup, recovered from received WAL along timeline 2, holds the promoted server's rows. */
static void test_recovery_follows_the_received_timelines(void)
{
    CU_ASSERT_FATAL(switch_lsn != 0);
    char expected[256] = "", got[256] = "";
    CU_ASSERT_EQUAL_FATAL(sql_on(&standby, checksum_sql, expected, sizeof(expected)), 0);
    pg_fixture_stop(&standby);
    pg_fixture_stop(&primary);

    struct pg_fixture copy;
    CU_ASSERT_EQUAL_FATAL(pg_fixture_start(&copy, NULL), 0);
    char settings[PATH_MAX + 512], command[PATH_MAX + 256];
    snprintf(settings, sizeof(settings), "recovery_target_timeline = 'latest'\\nrestore_command = '%s --repo %s "
             "wal-fetch %%%%f %%%%p'\\n", cli, repo_path);
    snprintf(command, sizeof(command), "touch '%s/recovery.signal'", base_backup);
    CU_ASSERT_EQUAL_FATAL(system(command), 0);
    int started = replace_and_start(&copy, base_backup, settings) == 0;
    CU_ASSERT(started);
    for (int i = 0; started && i < 600; i++) {
        char state[32] = "";
        if (pg_fixture_psql(&copy, "SELECT pg_is_in_recovery()", state, sizeof(state)) == 0 &&
            strcmp(state, "f") == 0)
            break;
        usleep(100 * 1000);
    }
    if (started)
        pg_fixture_psql(&copy, checksum_sql, got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, expected);
    /* It took timeline 2 from the archive, and chose timeline 3 at its own promotion. */
    snprintf(command, sizeof(command), "grep -q 'restored log file \"00000002.history\"' '%s/server.log' && "
             "grep -q 'selected new timeline ID: 3' '%s/server.log'", copy.dir, copy.dir);
    CU_ASSERT_EQUAL(system(command), 0);
    pg_fixture_stop(&copy);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"rows_on_the_primary_reach_the_archive_through_the_standby",
         test_rows_on_the_primary_reach_the_archive_through_the_standby},
        {"the_receiver_follows_the_promoted_standby_onto_timeline_2",
         test_the_receiver_follows_the_promoted_standby_onto_timeline_2},
        {"recovery_follows_the_received_timelines", test_recovery_follows_the_received_timelines},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"wal_receive_timeline_integration", setup, teardown, NULL, NULL, tests},
                             CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
