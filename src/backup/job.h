/*
 * The job handle (pgb_job) as the backup kinds see it.
 */
#ifndef PGB_BACKUP_JOB_H
#define PGB_BACKUP_JOB_H

#include <stdint.h>

#include <jansson.h>

#include <pgbackup/job.h>

#include "core/clock.h"
#include "repo/repo.h"

struct pgb_job {
    uint32_t magic;
    pgb_ctx *ctx;
    struct pgb_repo *repo;
    int state;             /* enum job_state in job.c */
    /* Options, read at pgb_job_new. */
    char *type, *mode, *conninfo, *label;
    char *pgdata;          /* local mode: the cluster's data directory */
    int jobs;              /* local mode: parallel copy workers; stream mode: > 1 stores chunks on a thread */
    int allow_bad_pages;   /* local mode: commit despite data page checksum failures */
    int incremental;
    int fast_checkpoint;
    int codec, level;
    uint64_t wal_segment_size;
    struct pgb_logical_job *logical; /* logical and globals backups: their options (src/logical/logical_job.h) */
    /* Results. */
    char backup_id[PGB_TIME_ID_SIZE];
    json_t *record;        /* the catalog record, once committed */
    char *record_json;
};

/* Make a backup id for now: "20261125T101500.123Z-<suffix>". */
void pgb_job_make_backup_id(struct pgb_job *job, const char *suffix);

/* Physical backup over a replication connection (BASE_BACKUP). */
int pgb_physical_stream_run(struct pgb_job *job);

/* Physical backup on the database host: a parallel copy of the data directory between pg_backup_start and _stop. */
int pgb_physical_local_run(struct pgb_job *job);

#endif
