/*
 * Facts about a PostgreSQL server that backups depend on (pgb_server_info).
 */
#ifndef PGB_PG_SERVER_FACTS_H
#define PGB_PG_SERVER_FACTS_H

#include <stdint.h>

#include <pgbackup/probe.h>

struct pgb_server_info {
    uint32_t magic;
    char *host, *port, *user;
    int version_num;
    char *version;
    char *system_identifier; /* NULL when it could not be read */
    long timeline;           /* 0 when unknown */
    int in_recovery;
    int data_checksums;
    char *wal_level, *archive_mode;
    int max_wal_senders;
    int64_t wal_segment_size;
    int role_superuser, role_replication;
    int replication_ok;
    char *replication_error; /* why a replication connection failed, or NULL */
    void *archiver;          /* json_t: pg_stat_archiver facts, or NULL when unreadable */
    char *json;              /* the report, made once all facts are in */
};

/* Read every fact through conninfo; on failure *out is NULL and ctx says why. */
int pgb_server_facts_read(pgb_ctx *ctx, const char *conninfo, struct pgb_server_info **out);

void pgb_server_facts_free(struct pgb_server_info *info);

#endif
