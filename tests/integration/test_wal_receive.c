/*
 * The WAL receiver against a real PostgreSQL 15 server with archiving off:
 * the receiver runs in a thread, makes its slot, stores each segment and
 * the unfinished one as a partial, never reports as flushed more than the
 * repository holds, comes back after its walsender is killed, lets wal-push
 * store the same segments, and makes synchronous commits wait for the
 * repository. Last, a base backup taken without WAL (pg_basebackup -X none)
 * is recovered with restore_command = 'pgbackup wal-fetch' from received WAL
 * only and, promoted, holds exactly the rows committed.
 */
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include <pgbackup/pgbackup.h>

#include "pg_fixture.h"
#include "test_main.h"
#include "wal_receiver_thread.h"

#define SEGMENT_SIZE (UINT64_C(16) * 1024 * 1024)
#define SEGMENTS_PER_ID (UINT64_C(0x100000000) / SEGMENT_SIZE)
#define SLOT "pgbackup_main"

static struct pg_fixture server;
static char cli[PATH_MAX];
static char work[64];
static char repo_path[128];
static char base_backup[400];
static int base_backup_ok;
/* The test's own handles on the repository; the receiver has its own, in its thread. */
static pgb_ctx *ctx;
static pgb_storage *storage;
static pgb_repo *repo;

static struct receiving receiving = {.log_lock = PTHREAD_MUTEX_INITIALIZER};

static int logged(const char *text)
{
    return receiving_logged(&receiving, text);
}

static int start_receiver(const char *partial_interval)
{
    return receiving_start(&receiving, repo_path, server.conninfo, partial_interval, NULL);
}

static int stop_receiver(void)
{
    return receiving_stop(&receiving);
}

static int wait_flushed(uint64_t lsn)
{
    return receiving_wait_flushed(&receiving, lsn);
}

/* ---- the server ---- */

static int sql(const char *statement, char *out, size_t size)
{
    char ignored[256];
    if (!out) {
        out = ignored;
        size = sizeof(ignored);
    }
    int rc = pg_fixture_psql(&server, statement, out, size);
    if (rc != 0)
        fprintf(stderr, "SQL failed: %s: %s\n", statement, out);
    return rc;
}

/* psql with a statement timeout, stdout and stderr into out (PostgreSQL's warnings go to stderr). */
static int psql_with_timeout(const char *timeout, const char *statement, char *out, size_t size)
{
    char command[PATH_MAX + 1024];
    snprintf(command, sizeof(command), "PGOPTIONS='-c statement_timeout=%s' '%s/psql' -X -q -A -t -h 127.0.0.1 -p %d "
             "-U postgres -d postgres -c \"%s\" 2>&1", timeout, server.bindir, server.port, statement);
    FILE *psql = popen(command, "r");
    if (!psql)
        return -1;
    size_t got = fread(out, 1, size - 1, psql);
    out[got] = '\0';
    int status = pclose(psql);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static uint64_t sql_lsn(const char *statement)
{
    char out[64] = "";
    CU_ASSERT_EQUAL_FATAL(sql(statement, out, sizeof(out)), 0);
    uint64_t lsn = receiving_parse_lsn(out);
    CU_ASSERT_FATAL(lsn != 0);
    return lsn;
}

/* Wait for the receiver's walsender to stream; its pid into pid. */
static int wait_streaming(char *pid, size_t size)
{
    for (int i = 0; i < 600; i++) {
        if (sql("SELECT pid FROM pg_stat_replication WHERE application_name = '" SLOT "' AND state = 'streaming'",
                pid, size) == 0 && pid[0])
            return 1;
        usleep(100 * 1000);
    }
    return 0;
}

static void segment_name(uint32_t timeline, uint64_t segno, char out[25])
{
    snprintf(out, 25, "%08X%08X%08X", (unsigned)timeline, (unsigned)(segno / SEGMENTS_PER_ID),
             (unsigned)(segno % SEGMENTS_PER_ID));
}

static int archived(const char *name)
{
    char key[256];
    snprintf(key, sizeof(key), "clusters/main/wal/%.8s/%s", name, name);
    int found = pgb_storage_stat(storage, key, NULL) == PGB_OK;
    snprintf(key, sizeof(key), "clusters/main/wal/%.8s/%s.sum", name, name);
    return found && pgb_storage_stat(storage, key, NULL) == PGB_OK;
}

static int archived_partial(uint64_t segno)
{
    char name[40];
    segment_name(1, segno, name);
    strcat(name, ".partial");
    return archived(name);
}

static int archived_segment(uint64_t segno)
{
    char name[25];
    segment_name(1, segno, name);
    return archived(name);
}

/* Whether the first length bytes of two files are equal; -1 when the server's copy is gone. */
static int same_prefix(const char *fetched, const char *server_copy, uint64_t length)
{
    struct stat st;
    if (stat(server_copy, &st) != 0)
        return -1;
    char command[1024];
    snprintf(command, sizeof(command), "cmp -s -n %" PRIu64 " '%s' '%s'", length, fetched, server_copy);
    return system(command) == 0;
}

/* Fetch segment segno from the repository and compare its first length bytes with the server's pg_wal file. */
static int repository_matches_server(uint64_t segno, uint64_t length)
{
    char name[25], fetched[300], local[600];
    segment_name(1, segno, name);
    snprintf(fetched, sizeof(fetched), "%s/fetched-%s", work, name);
    snprintf(local, sizeof(local), "%s/pg_wal/%s", server.datadir, name);
    int rc = pgb_wal_fetch(repo, name, fetched);
    if (rc != PGB_OK) {
        fprintf(stderr, "wal-fetch %s: %s\n", name, pgb_ctx_errmsg(ctx));
        return 0;
    }
    int same = same_prefix(fetched, local, length);
    unlink(fetched);
    return same;
}

/* ---- suite ---- */

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

static int setup(void)
{
    if (find_cli() != 0) {
        fprintf(stderr, "the pgbackup CLI is not beside this test\n");
        return 1;
    }
    snprintf(work, sizeof(work), "/tmp/pgb-walrecv-XXXXXX");
    if (!mkdtemp(work))
        return 1;
    snprintf(repo_path, sizeof(repo_path), "%s/repo", work);
    if (pgb_ctx_new(&ctx) || pgb_storage_open(&storage, ctx, repo_path, NULL) || pgb_repo_init(&repo, storage, NULL)) {
        fprintf(stderr, "repository: %s\n", pgb_ctx_errmsg(ctx));
        return 1;
    }
    static const char *const settings[] = {"wal_level = replica", "archive_mode = off", "max_wal_senders = 6", NULL};
    if (pg_fixture_start(&server, settings) != 0) {
        fprintf(stderr, "fixture: %s\n", server.error);
        return 1;
    }
    return 0;
}

static int teardown(void)
{
    if (receiving.started)
        stop_receiver();
    pg_fixture_stop(&server);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    pgb_ctx_free(ctx);
    char command[256];
    snprintf(command, sizeof(command), "rm -rf '%s'", work);
    return system(command) != 0;
}

static const char *const checksum_sql =
    "SELECT count(*) || ' ' || md5(string_agg(id || body, ',' ORDER BY id)) FROM items";

static void test_the_slot_is_made_and_streaming_starts(void)
{
    char out[64];
    CU_ASSERT_EQUAL_FATAL(sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" SLOT "'", out,
                              sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "0");
    CU_ASSERT_EQUAL_FATAL(start_receiver("1000"), 0);
    char pid[32] = "";
    CU_ASSERT_FATAL(wait_streaming(pid, sizeof(pid)));
    /* A permanent physical slot, named after the cluster, reserving WAL. */
    CU_ASSERT_EQUAL(sql("SELECT slot_type || ' ' || temporary || ' ' || (restart_lsn IS NOT NULL) FROM "
                        "pg_replication_slots WHERE slot_name = '" SLOT "'", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "physical false true");
    CU_ASSERT(logged("created replication slot " SLOT));
    CU_ASSERT(logged("the repository holds no WAL of this cluster yet"));
    CU_ASSERT_EQUAL(pgb_wal_receiver_timeline(receiving.receiver), 1);
    CU_ASSERT_STRING_EQUAL(pgb_wal_receiver_slot(receiving.receiver), SLOT);
}

static void test_rows_and_segments_arrive_while_a_base_backup_runs(void)
{
    char command[PATH_MAX + 1024];
    /* Without WAL: recovery must take every byte from the receiver's archive. */
    snprintf(base_backup, sizeof(base_backup), "%s/base", work);
    snprintf(command, sizeof(command), "%s/pg_basebackup -h 127.0.0.1 -p %d -U postgres -D '%s' -X none -c fast "
             ">'%s/basebackup.log' 2>&1", server.bindir, server.port, base_backup, work);
    base_backup_ok = system(command) == 0;
    CU_ASSERT_FATAL(base_backup_ok);
    CU_ASSERT_EQUAL_FATAL(sql("CREATE TABLE items (id int PRIMARY KEY, body text)", NULL, 0), 0);
    for (int round = 0; round < 3; round++) {
        snprintf(command, sizeof(command), "INSERT INTO items SELECT g, md5(random()::text) FROM "
                 "generate_series(%d, %d) g", round * 30000 + 1, round * 30000 + 30000);
        CU_ASSERT_EQUAL_FATAL(sql(command, NULL, 0), 0);
        CU_ASSERT_EQUAL_FATAL(sql("SELECT pg_switch_wal()", NULL, 0), 0);
    }
    uint64_t end = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    CU_ASSERT_FATAL(wait_flushed(end));
    uint64_t last = (end - 1) / SEGMENT_SIZE;
    /* Every switched segment is archived complete and is the server's file byte for byte. */
    for (uint64_t segno = last - 2; segno < last; segno++) {
        CU_ASSERT(archived_segment(segno));
        CU_ASSERT_NOT_EQUAL(repository_matches_server(segno, SEGMENT_SIZE), 0);
    }
    CU_ASSERT(logged("received and archived"));
}

static void test_the_partial_is_replaced_once_its_segment_is_complete(void)
{
    CU_ASSERT_EQUAL_FATAL(sql("INSERT INTO items VALUES (1000001, 'partial')", NULL, 0), 0);
    uint64_t end = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    uint64_t segno = end / SEGMENT_SIZE;
    CU_ASSERT_FATAL(wait_flushed(end));
    CU_ASSERT(archived_partial(segno));
    CU_ASSERT_FALSE(archived_segment(segno));
    /* The partial is full size, and holds the server's WAL up to the flush position. */
    CU_ASSERT_EQUAL(repository_matches_server(segno, end - segno * SEGMENT_SIZE), 1);

    CU_ASSERT_EQUAL_FATAL(sql("SELECT pg_switch_wal()", NULL, 0), 0);
    CU_ASSERT_FATAL(wait_flushed((segno + 1) * SEGMENT_SIZE));
    CU_ASSERT(archived_segment(segno));
    CU_ASSERT_FALSE(archived_partial(segno));
    char key[256], name[25];
    segment_name(1, segno, name);
    snprintf(key, sizeof(key), "clusters/main/wal/00000001/%s.partial.sum", name);
    CU_ASSERT_EQUAL(pgb_storage_stat(storage, key, NULL), PGB_ENOTFOUND);
}

/* What the server was told is flushed is in the repository: sampled while rows are written. */
static void test_flush_reported_to_the_server_is_in_the_repository(void)
{
    int compared = 0;
    for (int round = 0; round < 12; round++) {
        char statement[256], flush[64] = "";
        snprintf(statement, sizeof(statement), "INSERT INTO items SELECT g, repeat('x', 500) FROM "
                 "generate_series(%d, %d) g", 2000000 + round * 2000, 2000000 + round * 2000 + 1999);
        CU_ASSERT_EQUAL_FATAL(sql(statement, NULL, 0), 0);
        usleep(300 * 1000);
        CU_ASSERT_EQUAL_FATAL(sql("SELECT flush_lsn FROM pg_stat_replication WHERE application_name = '" SLOT "'",
                                  flush, sizeof(flush)), 0);
        uint64_t flushed = receiving_parse_lsn(flush);
        if (flushed == 0)
            continue;
        uint64_t segno = (flushed - 1) / SEGMENT_SIZE;
        int same = repository_matches_server(segno, flushed - segno * SEGMENT_SIZE);
        CU_ASSERT_NOT_EQUAL(same, 0);
        compared += same == 1;
    }
    CU_ASSERT(compared >= 8);
}

static void test_the_receiver_comes_back_after_its_walsender_is_terminated(void)
{
    char before[32] = "", after[32] = "", out[64];
    CU_ASSERT_FATAL(wait_streaming(before, sizeof(before)));
    char statement[128];
    snprintf(statement, sizeof(statement), "SELECT pg_terminate_backend(%s)", before);
    CU_ASSERT_EQUAL_FATAL(sql(statement, out, sizeof(out)), 0);
    CU_ASSERT_EQUAL_FATAL(sql("INSERT INTO items SELECT g, md5(g::text) FROM generate_series(3000001, 3020000) g",
                              NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(sql("SELECT pg_switch_wal()", NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(sql("INSERT INTO items VALUES (3020001, 'after the switch')", NULL, 0), 0);
    uint64_t end = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    CU_ASSERT_FATAL(wait_flushed(end));
    CU_ASSERT_FATAL(wait_streaming(after, sizeof(after)));
    CU_ASSERT_STRING_NOT_EQUAL(before, after);
    CU_ASSERT(logged("receiving WAL was interrupted"));
    /* No gap: the segment it was receiving when cut off is complete and the server's. */
    uint64_t segno = end / SEGMENT_SIZE - 1;
    CU_ASSERT(archived_segment(segno));
    CU_ASSERT_NOT_EQUAL(repository_matches_server(segno, SEGMENT_SIZE), 0);
}

static int push_from_pg_wal(uint64_t segno)
{
    char name[25], path[600];
    segment_name(1, segno, name);
    snprintf(path, sizeof(path), "%s/pg_wal/%s", server.datadir, name);
    int rc = pgb_wal_push(repo, path);
    if (rc != PGB_OK)
        fprintf(stderr, "wal-push %s: %s\n", name, pgb_ctx_errmsg(ctx));
    return rc;
}

/* archive_command and the receiver can run together: each stores what the other stored, without a conflict. */
static void test_wal_push_of_what_the_receiver_stored_succeeds(void)
{
    /* A segment the receiver archived complete. */
    uint64_t end = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    CU_ASSERT_EQUAL(push_from_pg_wal(end / SEGMENT_SIZE - 1), PGB_OK);

    /* A segment it holds only as a partial, pushed complete while the receiver is away. */
    CU_ASSERT_EQUAL_FATAL(sql("INSERT INTO items VALUES (3020002, 'pushed')", NULL, 0), 0);
    end = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    uint64_t segno = end / SEGMENT_SIZE;
    CU_ASSERT_FATAL(wait_flushed(end));
    CU_ASSERT_EQUAL_FATAL(stop_receiver(), PGB_OK);
    CU_ASSERT(archived_partial(segno));
    CU_ASSERT_EQUAL_FATAL(sql("SELECT pg_switch_wal()", NULL, 0), 0);
    CU_ASSERT_EQUAL(push_from_pg_wal(segno), PGB_OK);

    /* Back again, the receiver starts after that segment and drops its partial. */
    CU_ASSERT_EQUAL_FATAL(start_receiver("1000"), 0);
    CU_ASSERT_EQUAL_FATAL(sql("INSERT INTO items VALUES (3020003, 'resumed')", NULL, 0), 0);
    CU_ASSERT_FATAL(wait_flushed(sql_lsn("SELECT pg_current_wal_flush_lsn()")));
    CU_ASSERT(archived_segment(segno));
    CU_ASSERT_FALSE(archived_partial(segno));
    char from[80];
    snprintf(from, sizeof(from), "receiving WAL from %X/%X", (unsigned)(((segno + 1) * SEGMENT_SIZE) >> 32),
             (unsigned)((segno + 1) * SEGMENT_SIZE));
    CU_ASSERT(logged(from));
    /* And the segment the receiver then completes, pushed after it. */
    CU_ASSERT_EQUAL_FATAL(sql("SELECT pg_switch_wal()", NULL, 0), 0);
    CU_ASSERT_FATAL(wait_flushed((segno + 2) * SEGMENT_SIZE));
    CU_ASSERT_EQUAL(push_from_pg_wal(segno + 1), PGB_OK);
}

/*
 * With synchronous_standby_names naming the receiver, a commit returns only
 * once the receiver reported it flushed, which is only once it is in the
 * repository; with the receiver down, commits wait.
 */
static void test_synchronous_commits_wait_for_the_repository(void)
{
    CU_ASSERT_EQUAL_FATAL(sql("ALTER SYSTEM SET synchronous_standby_names = '" SLOT "'", NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(sql("SELECT pg_reload_conf()", NULL, 0), 0);
    char out[256] = "";
    for (int i = 0; i < 100 && strcmp(out, "sync") != 0; i++) {
        usleep(100 * 1000);
        sql("SELECT sync_state FROM pg_stat_replication WHERE application_name = '" SLOT "'", out, sizeof(out));
    }
    CU_ASSERT_STRING_EQUAL(out, "sync");
    for (int round = 0; round < 5; round++) {
        /* The position before the commit: the commit record lies after it, and must be flushed on return. */
        char statement[256];
        snprintf(statement, sizeof(statement), "BEGIN; INSERT INTO items VALUES (%d, 'sync'); "
                 "SELECT pg_current_wal_insert_lsn(); COMMIT; SELECT flush_lsn FROM pg_stat_replication WHERE "
                 "application_name = '" SLOT "'", 4000000 + round);
        int status = psql_with_timeout("30s", statement, out, sizeof(out));
        if (status != 0 || strstr(out, "WARNING"))
            fprintf(stderr, "\n%s\nreceiver:\n%s", out, receiving.log);
        CU_ASSERT_EQUAL_FATAL(status, 0);
        CU_ASSERT_PTR_NULL_FATAL(strstr(out, "WARNING"));
        char before[64] = "", flushed[64] = "";
        CU_ASSERT_EQUAL(sscanf(out, "%63s %63s", before, flushed), 2);
        uint64_t flush = receiving_parse_lsn(flushed);
        CU_ASSERT(flush > receiving_parse_lsn(before));
        uint64_t segno = (flush - 1) / SEGMENT_SIZE;
        CU_ASSERT_EQUAL(repository_matches_server(segno, flush - segno * SEGMENT_SIZE), 1);
    }
    /*
     * With the receiver stopped the commit waits (statement_timeout ends
     * before the commit, so the wait is canceled from another session).
     */
    CU_ASSERT_EQUAL_FATAL(stop_receiver(), PGB_OK);
    char command[PATH_MAX + 512];
    snprintf(command, sizeof(command), "'%s/psql' -X -q -h 127.0.0.1 -p %d -U postgres -d postgres -c \"INSERT INTO "
             "items VALUES (4000100, 'waited')\" 2>&1", server.bindir, server.port);
    FILE *waiting = popen(command, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(waiting);
    char pid[32] = "";
    for (int i = 0; i < 300 && !pid[0]; i++) {
        usleep(100 * 1000);
        sql("SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep'", pid, sizeof(pid));
    }
    CU_ASSERT(pid[0] != '\0');
    sleep(1);
    char still[32] = "";
    sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'", still, sizeof(still));
    CU_ASSERT_STRING_EQUAL(still, "1");
    char cancel[96];
    snprintf(cancel, sizeof(cancel), "SELECT pg_cancel_backend(%s)", pid[0] ? pid : "0");
    sql(cancel, NULL, 0);
    size_t got = fread(out, 1, sizeof(out) - 1, waiting);
    out[got] = '\0';
    CU_ASSERT_EQUAL(pclose(waiting), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "canceling wait for synchronous replication"));
    CU_ASSERT_EQUAL_FATAL(sql("ALTER SYSTEM RESET synchronous_standby_names", NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(sql("SELECT pg_reload_conf()", NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(start_receiver("1000"), 0);
}

/*
 * The server removed the WAL at the end of what the repository holds (the
 * slot was dropped while the receiver was away): the receiver says what is
 * missing and goes on from the new slot's position. Its own repository, so
 * the gap stays out of the recovery test's archive.
 */
static void test_a_gap_is_reported_and_receiving_goes_on(void)
{
    static struct receiving gap = {.log_lock = PTHREAD_MUTEX_INITIALIZER};
    char gap_repo[200], command[PATH_MAX + 256];
    snprintf(gap_repo, sizeof(gap_repo), "%s/gap-repo", work);
    snprintf(command, sizeof(command), "%s --repo %s repo-init >/dev/null 2>&1", cli, gap_repo);
    CU_ASSERT_EQUAL_FATAL(system(command), 0);
    CU_ASSERT_EQUAL_FATAL(receiving_start(&gap, gap_repo, server.conninfo, "0", "pgbackup_gap"), 0);
    CU_ASSERT_EQUAL_FATAL(sql("INSERT INTO items VALUES (4600000, 'before the gap')", NULL, 0), 0);
    uint64_t before = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    CU_ASSERT_FATAL(receiving_wait_flushed(&gap, before));
    CU_ASSERT_EQUAL_FATAL(receiving_stop(&gap), PGB_OK);

    /* Away: the slot goes, and checkpoints recycle the segments it held. */
    char active[16] = "1";
    for (int i = 0; i < 100 && strcmp(active, "0") != 0; i++) {
        usleep(100 * 1000);
        sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgbackup_gap' AND active", active,
            sizeof(active));
    }
    CU_ASSERT_EQUAL_FATAL(sql("SELECT pg_drop_replication_slot('pgbackup_gap')", NULL, 0), 0);
    for (int round = 0; round < 3; round++) {
        CU_ASSERT_EQUAL_FATAL(sql("INSERT INTO items VALUES (4600001 + (SELECT count(*) FROM items WHERE id > "
                                  "4600000), 'in the gap')", NULL, 0), 0);
        CU_ASSERT_EQUAL_FATAL(sql("SELECT pg_switch_wal()", NULL, 0), 0);
        CU_ASSERT_EQUAL_FATAL(sql("CHECKPOINT", NULL, 0), 0);
    }
    char name[25], path[600];
    segment_name(1, before / SEGMENT_SIZE, name);
    snprintf(path, sizeof(path), "%s/pg_wal/%s", server.datadir, name);
    struct stat st;
    CU_ASSERT_NOT_EQUAL_FATAL(stat(path, &st), 0);

    CU_ASSERT_EQUAL_FATAL(receiving_start(&gap, gap_repo, server.conninfo, "0", "pgbackup_gap"), 0);
    CU_ASSERT_EQUAL_FATAL(sql("INSERT INTO items VALUES (4700000, 'after the gap')", NULL, 0), 0);
    CU_ASSERT(receiving_wait_flushed(&gap, sql_lsn("SELECT pg_current_wal_flush_lsn()")));
    CU_ASSERT(receiving_logged(&gap, "has already been removed"));
    CU_ASSERT(receiving_logged(&gap, "the archive of this cluster lacks the WAL from"));
    CU_ASSERT(receiving_logged(&gap, "created replication slot pgbackup_gap"));
    CU_ASSERT_EQUAL(receiving_stop(&gap), PGB_OK);
    for (int i = 0; i < 100; i++) {
        sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgbackup_gap' AND active", active,
            sizeof(active));
        if (strcmp(active, "0") == 0)
            break;
        usleep(100 * 1000);
    }
    CU_ASSERT_EQUAL(sql("SELECT pg_drop_replication_slot('pgbackup_gap')", NULL, 0), 0);
}

/* The command line: streams into its own repository until SIGTERM, then exits 0 with its positions as JSON. */
static void test_the_cli_receives_until_sigterm(void)
{
    char cli_repo[200], out_path[200], err_path[200], conn[600];
    snprintf(cli_repo, sizeof(cli_repo), "%s/cli-repo", work);
    snprintf(out_path, sizeof(out_path), "%s/cli.json", work);
    snprintf(err_path, sizeof(err_path), "%s/cli.log", work);
    snprintf(conn, sizeof(conn), "%s", server.conninfo);
    char command[PATH_MAX + 512];
    snprintf(command, sizeof(command), "%s --repo %s repo-init >/dev/null 2>&1", cli, cli_repo);
    CU_ASSERT_EQUAL_FATAL(system(command), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        if (!freopen(out_path, "w", stdout) || !freopen(err_path, "w", stderr))
            _exit(127);
        execl(cli, cli, "--repo", cli_repo, "--pg", conn, "--slot", "pgbackup_cli", "--json", "wal-receive",
              (char *)NULL);
        _exit(127);
    }
    char streaming[32] = "";
    for (int i = 0; i < 600 && strcmp(streaming, "1") != 0; i++) {
        usleep(100 * 1000);
        sql("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pgbackup_cli' AND state = "
            "'streaming'", streaming, sizeof(streaming));
    }
    CU_ASSERT_STRING_EQUAL(streaming, "1");
    CU_ASSERT_EQUAL(sql("INSERT INTO items VALUES (4500000, 'through the command line')", NULL, 0), 0);
    uint64_t end = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    /* The flush the server was told of reaches the insert: then the signal. */
    for (int i = 0; i < 600; i++) {
        char flush[64] = "";
        sql("SELECT flush_lsn FROM pg_stat_replication WHERE application_name = 'pgbackup_cli'", flush, sizeof(flush));
        if (receiving_parse_lsn(flush) >= end)
            break;
        usleep(100 * 1000);
    }
    CU_ASSERT_EQUAL(kill(pid, SIGTERM), 0);
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    size_t size = 0;
    FILE *f = fopen(out_path, "r");
    char document[1024] = "";
    if (f) {
        size = fread(document, 1, sizeof(document) - 1, f);
        fclose(f);
    }
    document[size] = '\0';
    json_error_t error;
    json_t *doc = json_loads(document, 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "slot")), "pgbackup_cli");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "timeline")), 1);
    const char *flushed = json_string_value(json_object_get(doc, "flushed_lsn"));
    CU_ASSERT(flushed && receiving_parse_lsn(flushed) >= end);
    json_decref(doc);
    /* Its log said where it started; its slot is permanent, so drop it. */
    snprintf(command, sizeof(command), "grep -q 'receiving WAL from' '%s'", err_path);
    CU_ASSERT_EQUAL(system(command), 0);
    for (int i = 0; i < 100; i++) {
        char active[16] = "";
        sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgbackup_cli' AND active", active,
            sizeof(active));
        if (strcmp(active, "0") == 0)
            break;
        usleep(100 * 1000);
    }
    CU_ASSERT_EQUAL(sql("SELECT pg_drop_replication_slot('pgbackup_cli')", NULL, 0), 0);
}

/* Rows committed, the last in a segment never completed; recovery from received WAL alone reaches them. */
static void test_recovery_from_received_wal_reaches_the_last_commit(void)
{
    CU_ASSERT_FATAL(base_backup_ok);
    CU_ASSERT_EQUAL_FATAL(sql("INSERT INTO items SELECT g, md5(g::text) FROM generate_series(5000001, 5000100) g",
                              NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(sql("UPDATE items SET body = 'last' WHERE id = 5000100", NULL, 0), 0);
    char expected[256] = "", got[256] = "";
    CU_ASSERT_EQUAL_FATAL(sql(checksum_sql, expected, sizeof(expected)), 0);
    uint64_t end = sql_lsn("SELECT pg_current_wal_flush_lsn()");
    CU_ASSERT_FATAL(wait_flushed(end));
    uint64_t received = pgb_wal_receiver_received_lsn(receiving.receiver);
    CU_ASSERT_EQUAL(stop_receiver(), PGB_OK);
    CU_ASSERT(received >= end);
    CU_ASSERT(archived_partial(end / SEGMENT_SIZE));
    /* The server stops: from here on only the repository has the WAL. */
    pg_fixture_stop(&server);

    struct pg_fixture copy;
    CU_ASSERT_EQUAL_FATAL(pg_fixture_start(&copy, NULL), 0);
    char command[4 * PATH_MAX + 4096];
    snprintf(command, sizeof(command), "%s/pg_ctl -D '%s' -m fast -w stop >/dev/null && rm -rf '%s' && mv '%s' '%s' && "
             "touch '%s/recovery.signal' && printf \"port = %d\\nunix_socket_directories = '%s'\\n"
             "restore_command = '%s --repo %s wal-fetch %%%%f %%%%p'\\n\" >>'%s/postgresql.conf' && "
             "%s/pg_ctl -D '%s' -l '%s/server.log' -w -t 120 start >/dev/null",
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
        pg_fixture_psql(&copy, checksum_sql, got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, expected);
    /* It replayed the partial segment, served under the segment's name. */
    char name[25];
    segment_name(1, end / SEGMENT_SIZE, name);
    snprintf(command, sizeof(command), "grep -q 'restored log file \"%s\"' '%s/server.log'", name, copy.dir);
    CU_ASSERT_EQUAL(system(command), 0);
    pg_fixture_stop(&copy);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"the_slot_is_made_and_streaming_starts", test_the_slot_is_made_and_streaming_starts},
        {"rows_and_segments_arrive_while_a_base_backup_runs", test_rows_and_segments_arrive_while_a_base_backup_runs},
        {"the_partial_is_replaced_once_its_segment_is_complete",
         test_the_partial_is_replaced_once_its_segment_is_complete},
        {"flush_reported_to_the_server_is_in_the_repository", test_flush_reported_to_the_server_is_in_the_repository},
        {"the_receiver_comes_back_after_its_walsender_is_terminated",
         test_the_receiver_comes_back_after_its_walsender_is_terminated},
        {"wal_push_of_what_the_receiver_stored_succeeds", test_wal_push_of_what_the_receiver_stored_succeeds},
        {"synchronous_commits_wait_for_the_repository", test_synchronous_commits_wait_for_the_repository},
        {"a_gap_is_reported_and_receiving_goes_on", test_a_gap_is_reported_and_receiving_goes_on},
        {"the_cli_receives_until_sigterm", test_the_cli_receives_until_sigterm},
        {"recovery_from_received_wal_reaches_the_last_commit",
         test_recovery_from_received_wal_reaches_the_last_commit},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"wal_receive_integration", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
