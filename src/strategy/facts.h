/*
 * What status and the advisor judge: everything the repository says about a
 * cluster (backups, the WAL archive, drills, the policy, the runbook) and,
 * when a connection is given, what the server says (archiving, standbys).
 * Collected once, judged by pure functions.
 */
#ifndef PGB_STRATEGY_FACTS_H
#define PGB_STRATEGY_FACTS_H

#include <stdint.h>

#include <jansson.h>

#include <pgbackup/policy.h>

#include "repo/repo.h"

struct pgb_strategy_facts {
    int64_t now;         /* seconds since the epoch */
    const char *cluster; /* owned by the repository */
    json_t *backups;     /* catalog records, oldest first */
    json_t *drills;      /* drill reports, oldest first */
    pgb_policy *policy;
    uint64_t archived_files;
    char newest_segment[64];    /* "" when the archive holds no segment */
    int64_t newest_archived_at; /* 0 when unknown */
    int64_t runbook_at;         /* when the runbook was last generated; 0 never */
    int64_t policy_updated_at;  /* when the policy was last changed; 0 never */
    const char *encryption;     /* "none", "passphrase", ... */
    int local_repository;       /* the repository is a path on this host */
    json_t *server;             /* the probe's JSON when option "pg" was given and the server answered */
    char *server_error;         /* why it did not answer */
    int64_t standbys;           /* rows of pg_stat_replication; -1 unknown */
    int server_is_local;        /* the connection goes to this host (socket or loopback) */
};

/* Collect; the server part only when opts sets "pg". Fails only for the repository's errors. */
int pgb_strategy_facts_collect(struct pgb_repo *repo, const pgb_options *opts, struct pgb_strategy_facts *out);

void pgb_strategy_facts_clear(struct pgb_strategy_facts *facts);

/* The newest backup record of a type ("physical", "logical", "globals"), or NULL; borrowed. */
json_t *pgb_strategy_newest_backup(const struct pgb_strategy_facts *facts, const char *type);

/* Seconds since an ISO 8601 time in a record, or -1 when it has none. */
int64_t pgb_strategy_age(const struct pgb_strategy_facts *facts, json_t *object, const char *field);

/* The newest drill report, or NULL; borrowed. */
json_t *pgb_strategy_last_drill(const struct pgb_strategy_facts *facts);

/* Key of the runbook marker ("runbook" in the cluster), written by the runbook generator. */
#define PGB_RUNBOOK_MARKER "runbook"

#endif
