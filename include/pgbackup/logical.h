/*
 * libpgbackup: logical restores and what logical backups hold.
 *
 * Logical and globals backups are made by backup jobs (job.h, option "type"
 * logical or globals). A logical backup holds, for each database, pg_dump's
 * custom-format archive, its table of contents (with dependencies and data
 * offsets) and the database's own properties; a globals backup holds
 * pg_dumpall --globals-only.
 *
 * A logical restore is planned first, like a physical one: making it reads the
 * backup's table of contents, connects to the target server, finds the
 * client programs and checks everything that can be checked before anything
 * changes (the backup and database exist, the target database exists or not
 * as asked, the selected tables are in the backup and, without "clean", not in
 * the target). Then it can be shown (pgb_logical_restore_to_json) and run.
 *
 * Options: "type" (logical or globals), "backup" (default: the newest backup
 * of that type; for a logical restore with "db", the newest that holds that
 * database), "pg" (the target server: libpq conninfo; its database is the
 * one connected to for creating databases and replaying globals), "pg-bindir",
 * and for logical restores "db" (the database of the backup; may be left out
 * when the backup has only one), "target-db" (default: the same name),
 * "create" (create the target database with the recorded encoding, locale,
 * owner, grants, comment and settings; it must not exist, unless "clean"
 * drops it first), "clean" (without "create": drop each restored object
 * before restoring it), "table" (SCHEMA.TABLE, repeatable) and "schema"
 * (repeatable) for a selective restore, "jobs" (pg_restore -j; the archive is
 * then copied once to a private temporary file), "analyze" (default true).
 */
#ifndef PGBACKUP_LOGICAL_H
#define PGBACKUP_LOGICAL_H

#include "common.h"
#include "repo.h"

PGB_BEGIN_DECLS

/** Logical and globals backups, logical restores and backup contents are available. */
#define PGB_HAS_LOGICAL 1

/** A logical or globals restore, planned and checked, not yet run. */
typedef struct pgb_logical_restore pgb_logical_restore;

/**
 * Plan a logical or globals restore.
 *
 * A selective restore (options "table", "schema") restores each table whole:
 * definition, data, indexes, constraints, defaults, owned sequences with
 * their values, triggers, row security and policies, rules, partitions,
 * grants and comments; and, where they are missing from the target database
 * and can be made, what a DROP ... CASCADE of it removed: views on it and
 * foreign keys of other tables that point to it. The choice follows the
 * dependencies the archive records.
 *
 * @param out   set to the plan; free it with pgb_logical_restore_free()
 * @param repo  an open repository that can read content (pgb_repo_can_read)
 * @param opts  options (see above)
 * @return 0; PGB_ENOTFOUND for an unknown backup, a database the backup does
 *         not hold, a target database that does not exist (without
 *         "create"), a table or schema not in the backup, missing client
 *         programs; PGB_EREFUSED for a target database that exists (with
 *         "create" but without "clean") or a selected table that exists
 *         there (without "clean"); PGB_EINVALID for bad options or a backup
 *         of another type; PGB_EUNSUPPORTED for client programs older than
 *         the server; PGB_ECONNECTION; PGB_EAUTH when the handle cannot read
 *         content
 */
PGB_EXTERN int pgb_logical_restore_new(pgb_logical_restore **out, pgb_repo *repo, const pgb_options *opts);

/** Id of the backup the plan restores; owned by the plan. */
PGB_EXTERN const char *pgb_logical_restore_backup_id(const pgb_logical_restore *restore);

/**
 * The plan as JSON: format_version (1), type ("logical" or "globals"),
 * backup, database, target_db, create, clean, jobs, analyze, mode ("whole" or
 * "selective"), format ("custom" or "directory", as backed up), input
 * ("stream": the archive piped into pg_restore; "file": a private copy for
 * pg_restore -j; "partial-file": only the TOC and the data blocks a
 * selective restore needs; "directory" and "partial-directory": the files of
 * a directory archive, all or those of the chosen entries, in a private
 * folder), dump_size, entries (TOC entries
 * restored), entries_total, tables and schemas (as asked), objects (what a
 * selective restore brings back, ["TABLE shop.orders", ...]), skipped
 * ([{object, reason}]: objects that depend on what is restored but are left
 * alone), and after pgb_logical_restore_execute: seconds, analyzed (tables
 * analyzed, or "database"); for globals: statements, roles_existing (roles
 * that existed and were altered), tablespaces_existing, errors. Owned by the
 * plan, valid until its next call.
 */
PGB_EXTERN const char *pgb_logical_restore_to_json(const pgb_logical_restore *restore);

/**
 * Run the restore. A logical restore creates the database if asked, runs
 * pg_restore (one transaction with jobs 1: a failure changes nothing; with
 * "create", a failure drops the database it made), then ANALYZE. A globals
 * restore replays every statement: a role or tablespace that exists already
 * is altered, not an error, and a failing statement does not stop the rest.
 *
 * @return 0; PGB_ERROR with pg_restore's messages (or every failed
 *         statement of a globals restore); PGB_ECORRUPT for damaged content;
 *         PGB_ECONNECTION; PGB_ECANCELED; PGB_EIO
 */
PGB_EXTERN int pgb_logical_restore_execute(pgb_logical_restore *restore);

/** Free a plan (NULL is allowed). */
PGB_EXTERN void pgb_logical_restore_free(pgb_logical_restore *restore);

/** The objects of a logical backup, from its stored tables of contents. */
typedef struct pgb_backup_contents pgb_backup_contents;

/**
 * Read the objects of a logical backup without reading its dumps.
 *
 * @param out   set to the contents; free with pgb_backup_contents_free()
 * @param repo  an open repository that can read content
 * @param id    the backup id
 * @param opts  "db" limits the list to these databases; NULL for all
 * @return 0; PGB_ENOTFOUND for an unknown backup or database; PGB_EINVALID
 *         for a backup that is not logical; PGB_EAUTH; PGB_ECORRUPT
 */
PGB_EXTERN int pgb_backup_contents_read(pgb_backup_contents **out, pgb_repo *repo, const char *id,
                                        const pgb_options *opts);

/** Number of objects. */
PGB_EXTERN size_t pgb_backup_contents_count(const pgb_backup_contents *contents);

/**
 * Object i: its database, kind ("TABLE", "INDEX", "FUNCTION" and so on), schema (""
 * for none), name and owner ("" for none); each owned by the contents. Any
 * pointer may be NULL.
 *
 * @return 0, or PGB_ITEROVER when i is past the last object
 */
PGB_EXTERN int pgb_backup_contents_object(const pgb_backup_contents *contents, size_t i, const char **database,
                                          const char **kind, const char **schema, const char **name,
                                          const char **owner);

/**
 * The contents as JSON: format_version (1), backup, databases: [{name,
 * objects: [{id, kind, schema, name, owner, depends_on}]}]; owned by the
 * contents.
 */
PGB_EXTERN const char *pgb_backup_contents_to_json(const pgb_backup_contents *contents);

/** Free contents (NULL is allowed). */
PGB_EXTERN void pgb_backup_contents_free(pgb_backup_contents *contents);

PGB_END_DECLS

#endif /* PGBACKUP_LOGICAL_H */
