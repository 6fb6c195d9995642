/*
 * A WAL receiver run in a thread, as an agent would: its own context,
 * storage and repository handles, its log kept for assertions and for the
 * report of a failing test. Shared by the wal-receive integration tests.
 */
#ifndef PGB_TEST_WAL_RECEIVER_THREAD_H
#define PGB_TEST_WAL_RECEIVER_THREAD_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

struct receiving {
    pgb_ctx *ctx;
    pgb_storage *storage;
    pgb_repo *repo;
    pgb_wal_receiver *receiver;
    pthread_t thread;
    int started;
    int rc;
    pthread_mutex_t log_lock;
    char log[32768];
};

/* Called on the receiver's thread. */
static void receiving_keep_log(int level, const char *message, void *payload)
{
    struct receiving *r = payload;
    pthread_mutex_lock(&r->log_lock);
    size_t used = strlen(r->log);
    if (used + strlen(message) + 16 < sizeof(r->log))
        snprintf(r->log + used, sizeof(r->log) - used, "%s: %s\n", pgb_log_level_name(level), message);
    pthread_mutex_unlock(&r->log_lock);
}

static inline int receiving_logged(struct receiving *r, const char *text)
{
    pthread_mutex_lock(&r->log_lock);
    int found = strstr(r->log, text) != NULL;
    pthread_mutex_unlock(&r->log_lock);
    return found;
}

static void *receiving_run(void *arg)
{
    struct receiving *r = arg;
    r->rc = pgb_wal_receiver_run(r->receiver);
    return NULL;
}

/* Start a receiver on the repository at repo_path, streaming from conninfo (slot NULL: the default); 0 or -1. */
static inline int receiving_start(struct receiving *r, const char *repo_path, const char *conninfo,
                                  const char *partial_interval, const char *slot)
{
    pgb_options *opts = NULL;
    int rc = pgb_ctx_new(&r->ctx);
    if (rc == PGB_OK)
        pgb_ctx_set_log(r->ctx, receiving_keep_log, r, PGB_LOG_DEBUG);
    if (rc == PGB_OK)
        rc = pgb_storage_open(&r->storage, r->ctx, repo_path, NULL);
    if (rc == PGB_OK)
        rc = pgb_repo_open(&r->repo, r->storage, NULL);
    if (rc == PGB_OK)
        rc = pgb_options_new(&opts, r->ctx);
    if (rc == PGB_OK)
        rc = pgb_options_set(opts, "pg", conninfo);
    if (rc == PGB_OK)
        rc = pgb_options_set(opts, "partial-interval", partial_interval);
    if (rc == PGB_OK && slot)
        rc = pgb_options_set(opts, "slot", slot);
    if (rc == PGB_OK)
        rc = pgb_wal_receiver_new(&r->receiver, r->repo, opts);
    pgb_options_free(opts);
    if (rc == PGB_OK && pthread_create(&r->thread, NULL, receiving_run, r) == 0)
        r->started = 1;
    if (!r->started)
        fprintf(stderr, "cannot start the receiver: %s\n", r->ctx ? pgb_ctx_errmsg(r->ctx) : "no context");
    return r->started ? 0 : -1;
}

/* Stop the receiver, wait for its thread, free it; what pgb_wal_receiver_run returned. */
static inline int receiving_stop(struct receiving *r)
{
    int rc = PGB_ERROR;
    if (r->started) {
        pgb_wal_receiver_stop(r->receiver);
        pthread_join(r->thread, NULL);
        rc = r->rc;
        if (rc != PGB_OK)
            fprintf(stderr, "\nreceiver failed: %s (%s)\n%s", pgb_ctx_errmsg(r->ctx), pgb_ctx_errdetail(r->ctx),
                    r->log);
    }
    pgb_wal_receiver_free(r->receiver);
    pgb_repo_close(r->repo);
    pgb_storage_free(r->storage);
    pgb_ctx_free(r->ctx);
    r->receiver = NULL;
    r->repo = NULL;
    r->storage = NULL;
    r->ctx = NULL;
    r->started = 0;
    return rc;
}

/* Wait up to a minute for the receiver to hold lsn in the repository. */
static inline int receiving_wait_flushed(struct receiving *r, uint64_t lsn)
{
    for (int i = 0; i < 600; i++) {
        if (pgb_wal_receiver_flushed_lsn(r->receiver) >= lsn)
            return 1;
        usleep(100 * 1000);
    }
    uint64_t at = pgb_wal_receiver_flushed_lsn(r->receiver);
    fprintf(stderr, "\nthe receiver did not archive up to %X/%X (at %X/%X)\n%s", (unsigned)(lsn >> 32),
            (unsigned)lsn, (unsigned)(at >> 32), (unsigned)at, r->log);
    return 0;
}

static inline uint64_t receiving_parse_lsn(const char *text)
{
    unsigned high = 0, low = 0;
    if (sscanf(text, "%X/%X", &high, &low) != 2)
        return 0;
    return (uint64_t)high << 32 | low;
}

#endif
