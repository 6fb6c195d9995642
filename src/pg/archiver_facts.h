/*
 * The health of WAL archiving as the server sees it (pg_stat_archiver, and
 * the .ready backlog where the role may list it): part of the probe report.
 */
#ifndef PGB_PG_ARCHIVER_FACTS_H
#define PGB_PG_ARCHIVER_FACTS_H

#include <jansson.h>
#include <libpq-fe.h>

/*
 * A new JSON object: archived_count, last_archived_wal, last_archived_time,
 * seconds_since_last_archived, failed_count, last_failed_wal,
 * last_failed_time, failing (the last failure is newer than the last
 * success), ready_count (null when the role may not list archive_status).
 * NULL when pg_stat_archiver cannot be read.
 */
json_t *pgb_archiver_facts_read(PGconn *conn);

#endif
