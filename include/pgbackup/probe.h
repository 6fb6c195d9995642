/*
 * libpgbackup: what a PostgreSQL server is and whether it is ready for backups.
 */
#ifndef PGBACKUP_PROBE_H
#define PGBACKUP_PROBE_H

#include "common.h"

PGB_BEGIN_DECLS

/** Facts about one PostgreSQL server, read by pgb_pg_probe(). */
typedef struct pgb_server_info pgb_server_info;

/**
 * Connect to a server and read the facts a backup depends on: version, system
 * identifier, data checksums, wal_level, archive_mode, whether the role may
 * replicate and whether a replication connection is accepted.
 *
 * The connection uses libpq, so parts the conninfo leaves out come from the PG*
 * environment variables and the password file (~/.pgpass), as for psql.
 *
 * @param out       set to the facts; free them with pgb_server_info_free()
 * @param ctx       the context that receives errors
 * @param conninfo  a libpq connection string or URI; NULL or "" uses only the
 *                  environment
 * @return 0, PGB_ECONNECTION when the server cannot be reached or refuses the
 *         connection (the message names host and port), or PGB_ENOMEM
 */
PGB_EXTERN int pgb_pg_probe(pgb_server_info **out, pgb_ctx *ctx, const char *conninfo);

/** Free the facts (NULL is allowed). */
PGB_EXTERN void pgb_server_info_free(pgb_server_info *info);

/** Server version as a number, such as 150018. */
PGB_EXTERN int pgb_server_info_version_num(const pgb_server_info *info);
/** Server version as text, such as "15.18"; owned by info. */
PGB_EXTERN const char *pgb_server_info_version(const pgb_server_info *info);
/**
 * The cluster's system identifier as decimal text; owned by info. NULL when
 * neither SQL nor a replication connection could read it.
 */
PGB_EXTERN const char *pgb_server_info_system_identifier(const pgb_server_info *info);
/** 1 when data checksums are on, 0 when off. */
PGB_EXTERN int pgb_server_info_data_checksums(const pgb_server_info *info);
/** wal_level ("replica", "logical", "minimal"); owned by info. */
PGB_EXTERN const char *pgb_server_info_wal_level(const pgb_server_info *info);
/** archive_mode ("off", "on", "always"); owned by info. */
PGB_EXTERN const char *pgb_server_info_archive_mode(const pgb_server_info *info);
/** 1 when the connected role is a superuser or has REPLICATION, else 0. */
PGB_EXTERN int pgb_server_info_role_can_replicate(const pgb_server_info *info);
/** 1 when a replication connection was accepted (pg_hba.conf allows it), else 0. */
PGB_EXTERN int pgb_server_info_replication_ok(const pgb_server_info *info);
/** 1 when the server is a standby in recovery, else 0. */
PGB_EXTERN int pgb_server_info_in_recovery(const pgb_server_info *info);

/**
 * The whole report as one JSON object (schema in README, "format_version": 1).
 *
 * @return a string owned by info, valid until pgb_server_info_free()
 */
PGB_EXTERN const char *pgb_server_info_to_json(const pgb_server_info *info);

PGB_END_DECLS

#endif /* PGBACKUP_PROBE_H */
