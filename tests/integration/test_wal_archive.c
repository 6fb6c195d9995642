/*
 * The WAL archive against a real PostgreSQL 15 server: archive_command runs
 * the built pgbackup CLI (wal-push); every segment the server switches away
 * from lands in the repository with no failed attempt; wal-fetch gives back
 * byte-identical copies of the server's pg_wal files; the exit codes are the
 * ones archive_command and restore_command need (1 only for "not archived",
 * 126 for a repository that cannot be read). Last, a base backup taken before
 * the WAL was written is recovered with restore_command = 'pgbackup wal-fetch'
 * and, once promoted, holds exactly the source's data.
 */
#include <inttypes.h>
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

#define SEGMENT_SIZE (UINT64_C(16) * 1024 * 1024)
#define SEGMENTS_PER_ID (UINT64_C(0x100000000) / SEGMENT_SIZE)

static struct pg_fixture server;
static pgb_ctx *ctx;
static pgb_storage *storage;
static pgb_repo *repo;
static char cli[PATH_MAX];
static char work[64];
static char repo_path[128];
static char base_backup[400];
static int base_backup_ok;
static uint64_t first_segno, last_segno;

/* The CLI built beside this test: <build>/tests/<this> and <build>/examples/pgbackup. */
static int find_cli(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    snprintf(cli, sizeof(cli), "%.*s/../examples/pgbackup", PATH_MAX - 32, self);
    if (access(cli, X_OK) != 0) {
        fprintf(stderr, "the pgbackup CLI is not at %s\n", cli);
        return -1;
    }
    return 0;
}

static int sql(const char *statement, char *out, size_t size)
{
    int rc = pg_fixture_psql(&server, statement, out, size);
    if (rc != 0)
        fprintf(stderr, "SQL failed: %s: %s\n", statement, out ? out : "");
    return rc;
}

static void segment_name(uint64_t segno, char out[25])
{
    snprintf(out, 25, "%08X%08X%08X", 1u, (unsigned)(segno / SEGMENTS_PER_ID), (unsigned)(segno % SEGMENTS_PER_ID));
}

static uint64_t segno_of(const char *name)
{
    unsigned timeline, log, seg;
    if (sscanf(name, "%8X%8X%8X", &timeline, &log, &seg) != 3)
        return 0;
    return (uint64_t)log * SEGMENTS_PER_ID + seg;
}

static int setup(void)
{
    if (find_cli() != 0)
        return 1;
    snprintf(work, sizeof(work), "/tmp/pgb-walit-XXXXXX");
    if (!mkdtemp(work))
        return 1;
    snprintf(repo_path, sizeof(repo_path), "%s/repo", work);
    /* The repository exists before the server starts, so that no archive attempt fails. */
    if (pgb_ctx_new(&ctx) || pgb_storage_open(&storage, ctx, repo_path, NULL) || pgb_repo_init(&repo, storage, NULL)) {
        fprintf(stderr, "repository: %s\n", pgb_ctx_errmsg(ctx));
        return 1;
    }
    char archive_command[PATH_MAX + 256];
    snprintf(archive_command, sizeof(archive_command), "archive_command = '%s --repo %s wal-push %%p'", cli,
             repo_path);
    const char *const settings[] = {"wal_level = replica", "archive_mode = on", archive_command,
                                    "max_wal_senders = 4", NULL};
    if (pg_fixture_start(&server, settings) != 0) {
        fprintf(stderr, "fixture: %s\n", server.error);
        return 1;
    }
    char out[128];
    if (sql("SELECT pg_walfile_name(pg_current_wal_lsn())", out, sizeof(out)) != 0)
        return 1;
    first_segno = segno_of(out);
    return 0;
}

static int teardown(void)
{
    pg_fixture_stop(&server);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    pgb_ctx_free(ctx);
    char command[256];
    snprintf(command, sizeof(command), "chmod -R u+rwX '%s'; rm -rf '%s'", work, work);
    return system(command) != 0;
}

/* Run the CLI with arguments (a shell fragment); its exit status, and its output in out. */
static int run_cli(const char *arguments, char *out, size_t size)
{
    char command[PATH_MAX + 2048];
    snprintf(command, sizeof(command), "%s %s 2>&1", cli, arguments);
    FILE *pipe = popen(command, "r");
    if (!pipe)
        return -1;
    size_t got = fread(out, 1, size - 1, pipe);
    out[got] = '\0';
    int status = pclose(pipe);
    /* A sanitizer report would also change the exit status: none is expected. */
    CU_ASSERT_PTR_NULL(strstr(out, "Sanitizer"));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int same_file(const char *a, const char *b)
{
    char command[1024];
    snprintf(command, sizeof(command), "cmp -s '%s' '%s'", a, b);
    return system(command) == 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Wait until pg_stat_archiver has counted expected archived files; the final counts in archived and failed. */
static void wait_for_archiver(long expected, long *archived, long *failed)
{
    char out[128];
    for (int i = 0; i < 1200; i++) {
        if (sql("SELECT archived_count || ' ' || failed_count FROM pg_stat_archiver", out, sizeof(out)) != 0 ||
            sscanf(out, "%ld %ld", archived, failed) != 2)
            break;
        if (*archived >= expected || *failed > 0)
            return;
        usleep(100 * 1000);
    }
}

static void test_the_server_archives_every_segment_through_wal_push(void)
{
    char out[256], command[PATH_MAX + 1024];
    CU_ASSERT_EQUAL_FATAL(sql("CREATE TABLE items AS SELECT g AS id, md5(g::text) AS body FROM "
                              "generate_series(1, 20000) g",
                              out, sizeof(out)),
                          0);
    /* A base backup for the recovery test below; its end waits for the archiver (BASE_BACKUP WAIT). */
    snprintf(base_backup, sizeof(base_backup), "%s/base", server.dir);
    snprintf(command, sizeof(command), "%s/pg_basebackup -h 127.0.0.1 -p %d -U postgres -D '%s' -X none -c fast "
             ">'%s/basebackup.log' 2>&1", server.bindir, server.port, base_backup, work);
    base_backup_ok = system(command) == 0;
    CU_ASSERT(base_backup_ok);

    /* Write WAL and switch segments a few times. */
    char last[64] = "";
    for (int round = 0; round < 4; round++) {
        CU_ASSERT_EQUAL_FATAL(sql("INSERT INTO items SELECT g, md5(random()::text) FROM generate_series(1, 20000) g",
                                  out, sizeof(out)),
                              0);
        CU_ASSERT_EQUAL_FATAL(sql("SELECT pg_walfile_name(pg_switch_wal())", last, sizeof(last)), 0);
    }
    last_segno = segno_of(last);
    CU_ASSERT_FATAL(last_segno > first_segno);

    /* Every segment from the first to the last switched one, and the backup history file. */
    long expected = (long)(last_segno - first_segno + 1) + (base_backup_ok ? 1 : 0), archived = 0, failed = 0;
    wait_for_archiver(expected, &archived, &failed);
    CU_ASSERT_EQUAL(failed, 0);
    CU_ASSERT_EQUAL(archived, expected);
    if (failed > 0) {
        snprintf(command, sizeof(command), "grep -i archive '%s/server.log' | tail -20 >&2", server.dir);
        CU_ASSERT_EQUAL(system(command), 0);
    }

    /* Each is in the repository, with its checksum record, and comes back byte for byte. */
    char fetched[200];
    snprintf(fetched, sizeof(fetched), "%s/fetched", work);
    mkdir(fetched, 0700);
    int compared = 0;
    for (uint64_t segno = first_segno; segno <= last_segno; segno++) {
        char name[25], key[256], local[600], copy[300], arguments[1024];
        segment_name(segno, name);
        snprintf(key, sizeof(key), "clusters/main/wal/00000001/%s", name);
        CU_ASSERT_EQUAL(pgb_storage_stat(storage, key, NULL), PGB_OK);
        snprintf(key, sizeof(key), "clusters/main/wal/00000001/%s.sum", name);
        CU_ASSERT_EQUAL(pgb_storage_stat(storage, key, NULL), PGB_OK);
        snprintf(copy, sizeof(copy), "%s/%s", fetched, name);
        snprintf(arguments, sizeof(arguments), "--repo %s wal-fetch %s %s", repo_path, name, copy);
        CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 0);
        snprintf(local, sizeof(local), "%s/pg_wal/%s", server.datadir, name);
        if (file_exists(local)) {
            CU_ASSERT(same_file(local, copy));
            compared++;
        }
    }
    CU_ASSERT(compared >= 2); /* the server keeps recent segments (min_wal_size): most are still there */
    if (base_backup_ok) {
        char found[64];
        snprintf(command, sizeof(command), "ls '%s/clusters/main/wal/00000001' | grep -c '\\.backup$'", repo_path);
        FILE *pipe = popen(command, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(pipe);
        CU_ASSERT_PTR_NOT_NULL(fgets(found, sizeof(found), pipe));
        pclose(pipe);
        CU_ASSERT_EQUAL(atoi(found), 1);
    }
}

static void test_wal_fetch_exits_1_only_for_what_is_not_archived(void)
{
    char out[2048], arguments[1024], destination[200];
    snprintf(destination, sizeof(destination), "%s/RECOVERYXLOG", work);

    snprintf(arguments, sizeof(arguments), "--repo %s wal-fetch 0000000100000000000000FE %s", repo_path,
             destination);
    CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "0000000100000000000000FE is not archived"));
    snprintf(arguments, sizeof(arguments), "--repo %s wal-fetch 00000002.history %s", repo_path, destination);
    CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 1);
    CU_ASSERT_FALSE(file_exists(destination));

    /* The repository folder unreadable: the segment may well be there, so recovery must stop. */
    char name[25];
    segment_name(first_segno, name);
    CU_ASSERT_EQUAL_FATAL(chmod(repo_path, 0), 0);
    snprintf(arguments, sizeof(arguments), "--repo %s wal-fetch %s %s", repo_path, name, destination);
    int code = run_cli(arguments, out, sizeof(out));
    CU_ASSERT_EQUAL(chmod(repo_path, 0700), 0);
    CU_ASSERT_EQUAL(code, 126);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Permission denied"));
    CU_ASSERT_FALSE(file_exists(destination));
    /* The same request with the mode restored succeeds. */
    CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 0);
    CU_ASSERT(file_exists(destination));
    unlink(destination);

    /* No repository at all (an unmounted volume), a missing config file, a misspelt cluster, a bad command line. */
    snprintf(arguments, sizeof(arguments), "--repo %s/unmounted wal-fetch %s %s", work, name, destination);
    CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 126);
    snprintf(arguments, sizeof(arguments), "--config %s/missing.conf wal-fetch %s %s", work, name, destination);
    CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 126);
    snprintf(arguments, sizeof(arguments), "--repo %s --cluster mian wal-fetch %s %s", repo_path, name, destination);
    CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 126);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "no cluster 'mian'"));
    snprintf(arguments, sizeof(arguments), "--repo %s wal-fetch %s", repo_path, name);
    CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 126);
    CU_ASSERT_FALSE(file_exists(destination));
}

static void test_wal_push_exit_codes(void)
{
    char out[2048], arguments[1024], path[600], name[25];
    segment_name(last_segno, name); /* still in pg_wal: no checkpoint since */
    char local[600];
    snprintf(local, sizeof(local), "%s/pg_wal/%s", server.datadir, name);
    int have_local = file_exists(local);

    /* A file that is not WAL at all. */
    snprintf(arguments, sizeof(arguments), "--repo %s wal-push %s/postgresql.conf", repo_path, server.datadir);
    CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "postgresql.conf is not a WAL file"));
    snprintf(arguments, sizeof(arguments), "--repo %s wal-push", repo_path);
    CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 2);
    CU_ASSERT_FATAL(have_local);

    /* The server archives again after a crash: the same file succeeds, from the data directory as %p is given. */
    snprintf(arguments, sizeof(arguments), "--repo %s wal-push pg_wal/%s", repo_path, name);
    char command[PATH_MAX + 2048];
    snprintf(command, sizeof(command), "cd '%s' && %s %s >/dev/null 2>&1", server.datadir, cli, arguments);
    CU_ASSERT_EQUAL(system(command), 0);

    /* A real segment under another segment's name. */
    char wrong[25];
    segment_name(last_segno + 0x40, wrong);
    snprintf(path, sizeof(path), "%s/%s", work, wrong);
    snprintf(command, sizeof(command), "cp '%s' '%s'", local, path);
    CU_ASSERT_EQUAL_FATAL(system(command), 0);
    snprintf(arguments, sizeof(arguments), "--repo %s wal-push %s", repo_path, path);
    CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "xlp_pageaddr"));

    /* The same name with one byte changed after the header: refused, the archived copy kept. */
    snprintf(path, sizeof(path), "%s/%s", work, name);
    snprintf(command, sizeof(command), "cp '%s' '%s' && printf '\\125' | dd of='%s' bs=1 seek=1000000 conv=notrunc "
             "2>/dev/null", local, path, path);
    CU_ASSERT_EQUAL_FATAL(system(command), 0);
    snprintf(arguments, sizeof(arguments), "--repo %s wal-push %s", repo_path, path);
    CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "is already archived with different content; the archived copy is kept"));
    char copy[200];
    snprintf(copy, sizeof(copy), "%s/kept", work);
    snprintf(arguments, sizeof(arguments), "--repo %s wal-fetch %s %s", repo_path, name, copy);
    CU_ASSERT_EQUAL(run_cli(arguments, out, sizeof(out)), 0);
    CU_ASSERT(same_file(local, copy));
}

/* Recovery of the base backup through restore_command: the promoted copy holds the source's data. */
static void test_recovery_through_wal_fetch_reaches_the_end_of_the_archive(void)
{
    CU_ASSERT_FATAL(base_backup_ok);
    char expected[256], got[256] = "", command[4 * PATH_MAX + 8192];
    const char *checksum = "SELECT count(*) || ' ' || md5(string_agg(id || body, ',' ORDER BY id, body)) FROM items";
    CU_ASSERT_EQUAL_FATAL(sql(checksum, expected, sizeof(expected)), 0);

    struct pg_fixture copy;
    CU_ASSERT_EQUAL_FATAL(pg_fixture_start(&copy, NULL), 0);
    /* Put the base backup in place of the fresh cluster, with recovery settings. */
    snprintf(command, sizeof(command), "%s/pg_ctl -D '%s' -m fast -w stop >/dev/null && rm -rf '%s' && mv '%s' '%s' && "
             "touch '%s/recovery.signal' && printf \"port = %d\\nunix_socket_directories = '%s'\\narchive_mode = off\\n"
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
        pg_fixture_psql(&copy, checksum, got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, expected);
    /* It replayed archived WAL (not only what the backup held), and ended on "not archived". */
    snprintf(command, sizeof(command), "grep -q 'restored log file \"000000010000000000' '%s/server.log' && "
             "grep -q 'archive recovery complete' '%s/server.log'", copy.dir, copy.dir);
    CU_ASSERT_EQUAL(system(command), 0);
    pg_fixture_stop(&copy);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"the_server_archives_every_segment_through_wal_push", test_the_server_archives_every_segment_through_wal_push},
        {"wal_fetch_exits_1_only_for_what_is_not_archived", test_wal_fetch_exits_1_only_for_what_is_not_archived},
        {"wal_push_exit_codes", test_wal_push_exit_codes},
        {"recovery_through_wal_fetch_reaches_the_end_of_the_archive",
         test_recovery_through_wal_fetch_reaches_the_end_of_the_archive},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"wal_archive_integration", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
