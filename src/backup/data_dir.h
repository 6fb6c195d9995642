/*
 * What a base backup takes from a data directory, by the rules of the
 * server's own base backup (src/backend/backup/basebackup.c, sendDir and
 * sendTablespace, PostgreSQL 15): which folders keep only their entry, which
 * files never belong in a backup, temporary and unlogged relations,
 * pg_wal as an empty folder, the pg_tblspc links and the content of each
 * tablespace's PG_<major>_<catversion> folder, and global/pg_control last.
 */
#ifndef PGB_BACKUP_DATA_DIR_H
#define PGB_BACKUP_DATA_DIR_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/common.h>

#include "pg/base_backup.h"

/* One entry to back up. */
struct pgb_data_dir_entry {
    char *path;        /* in the backup, relative to the data directory: "base/5/16384",
                          "pg_tblspc/16385/PG_15_202209061/5/16390" */
    char *source;      /* files: the path to read */
    int type;          /* enum pgb_file_type */
    uint32_t mode;     /* permission bits */
    int64_t mtime;
    uint64_t size;     /* files: the size when walked (it may change while copied) */
    char *link;        /* symlinks (pg_tblspc/<oid>): the tablespace location */
    int relation;      /* a relation data file ("<relfilenode>[_fork][.segment]" in global/, base/ or a
                          tablespace): its pages carry checksums when the cluster has them */
    uint32_t segment;  /* relation files: the segment number (".N"; 0 for the first) */
};

struct pgb_data_dir {
    struct pgb_data_dir_entry *entries; /* folders before what they hold; global/pg_control last */
    size_t count, capacity;
    struct pgb_tablespace *tablespaces; /* one per pg_tblspc link */
    size_t tablespace_count;
    uint64_t file_bytes;                /* sizes of the files when walked */
    size_t file_count;
};

/*
 * Walk the data directory pgdata and list what a base backup takes.
 * version_dir is the server's tablespace folder name, "PG_15_202209061": only
 * that folder of each tablespace is taken. Entries of each folder come in
 * name order. Files and folders that vanish during the walk are left out
 * silently; special files and symlinks other than pg_tblspc/<oid> are left
 * out with a warning in the log, as the server does.
 *
 * @return 0, PGB_EIO naming the path, or PGB_ENOMEM; release out with
 *         pgb_data_dir_clear (also after a failure)
 */
int pgb_data_dir_walk(pgb_ctx *ctx, const char *pgdata, const char *version_dir, struct pgb_data_dir *out);

void pgb_data_dir_clear(struct pgb_data_dir *dir);

/*
 * Read the start of <pgdata>/global/pg_control: the system identifier (bytes
 * 0 to 7) and the catalog version (bytes 12 to 15), in the machine's order,
 * as every PostgreSQL since 9.x lays them out.
 *
 * @return 0, or PGB_EIO naming the file
 */
int pgb_data_dir_read_control(pgb_ctx *ctx, const char *pgdata, uint64_t *system_identifier,
                              uint32_t *catalog_version);

#endif
