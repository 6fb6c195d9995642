/*
 * What physical backups in stream and local mode share: the parent of an
 * incremental, the check that a cluster name keeps one system, the WAL spool
 * and storing what it holds, storing a backup_manifest, and the catalog record.
 *
 * Both modes commit in the same order: packs, WAL, backup_manifest,
 * configuration files, file list, and last the catalog record; a backup
 * without its record does not exist.
 */
#ifndef PGB_BACKUP_PHYSICAL_COMMON_H
#define PGB_BACKUP_PHYSICAL_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "backup/job.h"
#include "pg/base_backup.h"
#include "repo/content_writer.h"
#include "repo/file_list.h"

/* Room for a spool folder name made by pgb_physical_spool_make. */
#define PGB_SPOOL_PATH_SIZE 64

/*
 * What an incremental builds on. With job->incremental: the newest physical
 * backup of the cluster goes to parent (its id), *parent_record and
 * parent_list; parent stays "" when there is none (the incremental is then a
 * full backup, said in the log). Without: parent stays "" and parent_list
 * empty, but *parent_record still gets the newest physical record, so that
 * pgb_physical_check_system can compare systems.
 * The caller releases *parent_record (json_decref) and parent_list.
 */
int pgb_physical_load_parent(struct pgb_job *job, char *parent, size_t size, json_t **parent_record,
                             struct pgb_file_list *parent_list);

/*
 * Refuse to mix two clusters under one name: system_identifier (decimal) must
 * equal the one of parent_record (NULL: nothing to compare). PGB_EREFUSED.
 */
int pgb_physical_check_system(struct pgb_job *job, json_t *parent_record, const char *system_identifier);

/* job->wal_segment_size from pg_settings on an SQL connection. */
int pgb_physical_read_segment_size(struct pgb_job *job, PGconn *sql);

/*
 * Make a private folder for streamed WAL under /tmp. *made says whether it
 * exists (and must be removed with pgb_physical_spool_remove, whatever happens).
 */
int pgb_physical_spool_make(struct pgb_job *job, char spool[PGB_SPOOL_PATH_SIZE], int *made);

/* Remove the spool folder and everything in it; nothing when made is 0. */
void pgb_physical_spool_remove(const char *spool, int made);

/*
 * Store each segment of the spool as content/<id>/wal/<name>, adding the
 * stored bytes to *stored.
 */
int pgb_physical_store_wal(struct pgb_job *job, const char *spool, const char *const *names, size_t count,
                           uint64_t *stored);

/*
 * Compare what was received with the server's backup_manifest: every regular
 * file of list must be in it with the same size and (for a SHA-256 manifest)
 * the same SHA-256, and every file of the manifest must be in list. The first
 * difference fails (PGB_ECORRUPT naming the file): such a backup is not committed.
 */
int pgb_physical_check_received(struct pgb_job *job, const struct pgb_file_list *list, const void *manifest,
                                size_t size);

/* Store a backup_manifest as content/<id>/backup_manifest, adding the stored bytes to *stored. */
int pgb_physical_store_manifest(struct pgb_job *job, const void *data, size_t size, uint64_t *stored);

/*
 * The catalog record of a physical backup made in mode ("stream", "local"):
 * LSNs, timelines, system and tablespaces from result, the parent ("" for a
 * full backup), sizes and counts from stats, stored bytes, the WAL range and
 * the configuration files stored. NULL when out of memory; the caller owns it.
 */
json_t *pgb_physical_make_record(struct pgb_job *job, const char *mode, const struct pgb_base_backup_result *result,
                                 const char *parent, time_t started, const struct pgb_content_stats *stats,
                                 uint64_t stored, const char *const *wal_names, size_t wal_count, json_t *config);

/* Commit job->record as the backup's catalog record, then keep it as JSON text for pgb_job_to_json. */
int pgb_physical_commit_record(struct pgb_job *job);

#endif
