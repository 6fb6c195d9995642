/*
 * What logical and globals backups share: the SQL connection and the facts
 * the record keeps, the check that a cluster name keeps one system, the
 * client programs, the content writer (reusing chunks of the previous backup
 * of the same type: unchanged dumps store little), storing files and child
 * output, and committing the catalog record last.
 */
#ifndef PGB_LOGICAL_LOGICAL_SESSION_H
#define PGB_LOGICAL_LOGICAL_SESSION_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "backup/job.h"
#include "core/progress.h"
#include "logical/archive_scanner.h"
#include "logical/child_process.h"
#include "logical/pg_programs.h"
#include "repo/content_writer.h"
#include "repo/file_list.h"

struct logical_session {
    struct pgb_job *job;
    PGconn *sql;
    int server_version_num;
    char *server_version;
    char *system_identifier; /* NULL when the role cannot read it */
    struct pgb_pg_programs programs;
    char *program_version;   /* of the first program checked, for the record */
    char *password;          /* from the conninfo, for PGPASSWORD; NULL if none */
    struct pgb_program_env env;
    pgb_content_writer *content;
    struct pgb_file_list parent_list;
    time_t started;
    struct pgb_progress progress;
};

/*
 * Connect, read the server's facts, refuse another system under this cluster
 * name, find the programs (NULL-terminated names), make the backup id with
 * suffix (its type) and the content writer.
 */
int pgb_logical_session_open(struct logical_session *s, struct pgb_job *job, const char *const *programs);

/* The conninfo a program gets for database dbname (NULL: the conninfo's own); free with free(). */
int pgb_logical_session_conninfo(struct logical_session *s, const char *dbname, char **out);

/* Store a small file whole. */
int pgb_logical_session_store(struct logical_session *s, const char *path, const void *data, size_t size);

/*
 * Store a running child's stdout as file path, passing it through scanner too
 * when not NULL; wait for the child and fail, with its stderr and what it was
 * doing ("pg_dump of database shop"), when its exit status is not 0. *size
 * gets the bytes stored.
 */
int pgb_logical_session_store_output(struct logical_session *s, const char *path, const char *what, pgb_child *child,
                                     pgb_archive_scanner *scanner, uint64_t *size);

/* Store the local file at local_path as file path; *size gets its bytes. */
int pgb_logical_session_store_file(struct logical_session *s, const char *path, const char *local_path,
                                   uint64_t *size);

/*
 * Commit: finish the content, store the file list, complete record (type,
 * times, server facts, sizes) and commit it as the backup's catalog record.
 * Takes record over.
 */
int pgb_logical_session_commit(struct logical_session *s, json_t *record);

void pgb_logical_session_close(struct logical_session *s);

/*
 * pgb_pg_connect, with the server's notices (NOTICE, WARNING) sent to the
 * context's log at debug level instead of libpq's default, stderr: a library
 * prints nothing. conninfo with dbname replaced when dbname is not NULL.
 */
int pgb_logical_connect(pgb_ctx *ctx, const char *conninfo, const char *dbname, PGconn **out);

/* "databases/<name>/<file>" with every byte of name outside [A-Za-z0-9_-] as %XX. */
int pgb_logical_database_path(pgb_ctx *ctx, const char *name, const char *file, char **out);

#endif
