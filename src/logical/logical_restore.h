/*
 * The logical restore handle (pgb_logical_restore) as its files see it:
 * logical_restore.c plans and checks, logical_restore_run.c runs pg_restore,
 * globals_restore.c replays globals.sql.
 */
#ifndef PGB_LOGICAL_LOGICAL_RESTORE_H
#define PGB_LOGICAL_LOGICAL_RESTORE_H

#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include <pgbackup/logical.h>

#include "logical/archive_toc.h"
#include "logical/pg_programs.h"
#include "logical/selective.h"
#include "repo/file_list.h"

struct pgb_logical_restore {
    uint32_t magic;
    int state; /* enum in logical_restore.c */
    pgb_ctx *ctx;
    struct pgb_repo *repo;
    /* Options. */
    char *type, *conninfo, *bindir, *database, *target_db;
    int jobs, clean, create, analyze;
    char **tables, **schemas;
    size_t table_count, schema_count;
    /* The backup. */
    char backup_id[128];
    json_t *record;
    struct pgb_file_list files;
    const struct pgb_file_entry *dump;     /* logical, custom format: the archive */
    int directory;                         /* logical, directory format: files under databases/<name>/dir/ */
    uint64_t dump_size;                    /* bytes of the archive (every file of a directory one) */
    const struct pgb_file_entry *globals;  /* globals: globals.sql */
    char *listing;                         /* pg_restore -l -v of the archive */
    struct pgb_archive_toc toc;
    json_t *props;                         /* database.json */
    /* The target. */
    PGconn *admin;                         /* the "pg" connection: creates databases, replays globals */
    int target_exists;
    struct pgb_pg_programs programs;
    char *password;                        /* for PGPASSWORD; NULL if the conninfo has none */
    struct pgb_program_env env;
    int selective;
    struct pgb_selection selection;
    /* The report. */
    json_t *report;
    char *json;
};

/* Run a logical restore (the plan is checked). */
int pgb_logical_restore_run(struct pgb_logical_restore *r);

/* Run a globals restore. */
int pgb_globals_restore_run(struct pgb_logical_restore *r);

/* The record of backup id, or with id NULL the newest of type; PGB_ENOTFOUND otherwise. *record is a new reference. */
int pgb_logical_find_record(struct pgb_repo *repo, const char *id, const char *type, json_t **record);

/* Make (or remake, after execute) the JSON of the plan from r->report and what r holds. */
int pgb_logical_restore_report(struct pgb_logical_restore *r);

/* Run one statement on conn, expecting no rows; PGB_ERROR with the server's message. */
int pgb_logical_exec(pgb_ctx *ctx, PGconn *conn, const char *sql);

#endif
