/*
 * Clusters whose configuration lives outside the data directory (Debian keeps
 * it in /etc/postgresql): a backup stores postgresql.conf, pg_hba.conf and
 * pg_ident.conf read through SQL, and a restore puts them where --config-to
 * says, or into the data directory so that the restored cluster starts on its own.
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
static char etc[400], work[400];

static int run(const char *command)
{
    int status = system(command);
    if (status != 0)
        fprintf(stderr, "command failed (%d): %s\n", status, command);
    return status;
}

/* Move the three files to etc/ and restart the server with config_file pointing there. */
static int setup(void)
{
    static const char *const settings[] = {"max_wal_senders = 4", "wal_level = replica", NULL};
    if (pg_fixture_start(&server, settings) != 0) {
        fprintf(stderr, "fixture: %s\n", server.error);
        return 1;
    }
    snprintf(etc, sizeof(etc), "%s/etc", server.dir);
    snprintf(work, sizeof(work), "%s/work", server.dir);
    char command[16384];
    snprintf(command, sizeof(command),
             "set -e; '%s/pg_ctl' -D '%s' -m fast -w stop >/dev/null; mkdir -p '%s' '%s';"
             " mv '%s/postgresql.conf' '%s/pg_hba.conf' '%s/pg_ident.conf' '%s/';"
             " printf \"hba_file = '%s/pg_hba.conf'\\nident_file = '%s/pg_ident.conf'\\n\" >> '%s/postgresql.conf';"
             " '%s/pg_ctl' -D '%s' -l '%s/server.log' -w -t 60 -o \"-c config_file=%s/postgresql.conf\" start >/dev/null",
             server.bindir, server.datadir, etc, work, server.datadir, server.datadir, server.datadir, etc, etc, etc,
             etc, server.bindir, server.datadir, server.dir, etc);
    return run(command) != 0;
}

static int teardown(void)
{
    pg_fixture_stop(&server);
    return 0;
}

static void test_config_files_are_backed_up_and_restored(void)
{
    pgb_ctx *ctx;
    pgb_storage *storage;
    pgb_repo *repo;
    pgb_options *opts;
    char repo_path[500];
    snprintf(repo_path, sizeof(repo_path), "%s/repo", work);
    CU_ASSERT_FATAL(pgb_ctx_new(&ctx) == PGB_OK && pgb_options_new(&opts, ctx) == PGB_OK);
    pgb_options_set(opts, "pg", server.conninfo);
    pgb_options_set(opts, "checkpoint", "fast");
    CU_ASSERT_FATAL(pgb_storage_open(&storage, ctx, repo_path, NULL) == PGB_OK);
    CU_ASSERT_FATAL(pgb_repo_init(&repo, storage, opts) == PGB_OK);
    pgb_job *job;
    CU_ASSERT_EQUAL_FATAL(pgb_job_new(&job, repo, opts), PGB_OK);
    int rc = pgb_job_run(job);
    if (rc != PGB_OK)
        fprintf(stderr, "backup: %s\n", pgb_ctx_errmsg(ctx));
    CU_ASSERT_EQUAL_FATAL(rc, PGB_OK);
    json_t *record = json_loads(pgb_job_to_json(job), 0, NULL);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(record, "config_files")), 3);
    json_decref(record);
    pgb_job_free(job);

    /* --config-to: the three files, byte for byte. */
    char target[500], config_to[500], command[16384];
    snprintf(target, sizeof(target), "%s/restored-a", work);
    snprintf(config_to, sizeof(config_to), "%s/config-a", work);
    pgb_options *r;
    CU_ASSERT_FATAL(pgb_options_new(&r, ctx) == PGB_OK);
    pgb_options_set(r, "to", target);
    pgb_options_set(r, "config-to", config_to);
    pgb_restore_plan *plan;
    CU_ASSERT_EQUAL_FATAL(pgb_restore_plan_new(&plan, repo, r), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_restore_plan_execute(plan), PGB_OK);
    pgb_restore_plan_free(plan);
    snprintf(command, sizeof(command), "cmp '%s/postgresql.conf' '%s/postgresql.conf' && cmp '%s/pg_hba.conf' "
             "'%s/pg_hba.conf' && cmp '%s/pg_ident.conf' '%s/pg_ident.conf'", etc, config_to, etc, config_to, etc,
             config_to);
    CU_ASSERT_EQUAL(run(command), 0);

    /* Default: into the data directory, pointing nowhere else, and the copy starts on its own. */
    snprintf(target, sizeof(target), "%s/restored-b", work);
    pgb_options_unset(r, "config-to");
    pgb_options_set(r, "to", target);
    CU_ASSERT_EQUAL_FATAL(pgb_restore_plan_new(&plan, repo, r), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_restore_plan_execute(plan), PGB_OK);
    pgb_restore_plan_free(plan);
    snprintf(command, sizeof(command), "grep -q '^# disabled by pgbackup restore.*hba_file' '%s/postgresql.conf'",
             target);
    CU_ASSERT_EQUAL(run(command), 0);
    int port = server.port + 1000 > 65000 ? server.port - 1000 : server.port + 1000;
    snprintf(command, sizeof(command),
             "'%s/pg_ctl' -D '%s' -l '%s.log' -w -t 60 -o \"-p %d -k '%s' -c listen_addresses=127.0.0.1\" start "
             ">/dev/null && '%s/psql' -X -At -h 127.0.0.1 -p %d -U postgres -d postgres -c 'SELECT 1' >/dev/null; "
             "status=$?; '%s/pg_ctl' -D '%s' -m fast -w stop >/dev/null; exit $status",
             server.bindir, target, target, port, work, server.bindir, port, server.bindir, target);
    CU_ASSERT_EQUAL(run(command), 0);
    pgb_options_free(r);
    pgb_repo_close(repo);
    pgb_storage_free(storage);
    pgb_options_free(opts);
    pgb_ctx_free(ctx);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"config_files_are_backed_up_and_restored", test_config_files_are_backed_up_and_restored},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"config_outside", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
