/*
 * Globals backup: pg_dumpall --globals-only (roles with their password
 * hashes, memberships, role settings, tablespaces) streamed into the
 * repository as globals.sql. The hashes are secrets: like everything in an
 * encrypted repository, the file is stored encrypted.
 */
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "logical/logical_job.h"
#include "logical/logical_session.h"

int pgb_globals_backup_run(struct pgb_job *job)
{
    static const char *const programs[] = {"pg_dumpall", NULL};
    struct logical_session s;
    char *conninfo = NULL, *dbname_arg = NULL, *database_arg = NULL;
    pgb_child *child = NULL;
    uint64_t size = 0;
    int rc = pgb_logical_session_open(&s, job, programs);
    if (rc == PGB_OK)
        rc = pgb_logical_session_conninfo(&s, NULL, &conninfo);
    /* pg_dumpall ignores the dbname of --dbname: -l names the database it starts from. */
    if (rc == PGB_OK && (!(dbname_arg = pgb_text_printf("--dbname=%s", conninfo)) ||
                         !(database_arg = pgb_text_printf("--database=%s", PQdb(s.sql)))))
        rc = pgb_error_nomem(job->ctx);
    if (rc == PGB_OK) {
        s.progress.phase = "dump";
        s.progress.files_total = 1;
        char program[PATH_MAX];
        pgb_pg_program_path(&s.programs, "pg_dumpall", program);
        const char *argv[] = {program, "--globals-only", dbname_arg, database_arg, NULL};
        rc = pgb_child_start(job->ctx, argv, (const char *const *)s.env.entries, PGB_CHILD_STDOUT, &child);
    }
    if (rc == PGB_OK)
        rc = pgb_logical_session_store_output(&s, "globals.sql", "pg_dumpall --globals-only", child, NULL, &size);
    if (rc == PGB_OK) {
        json_t *record = json_pack("{s:[], s:I}", "databases", "database_size", (json_int_t)size);
        rc = pgb_logical_session_commit(&s, record);
    }
    pgb_child_free(child);
    pgb_logical_session_close(&s);
    free(conninfo);
    free(dbname_arg);
    free(database_arg);
    return rc;
}
