/*
 * The writer lock of a cluster: an object created only if absent, holding who
 * took it. A lock whose process is gone on this host is taken over with a
 * warning; one from another host never is, since we cannot know its process
 * is gone. Readers take no lock: objects are immutable.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>

#include <pgbackup/error.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "repo/repo.h"

/* Start time of a process in clock ticks since boot (/proc/PID/stat field 22): tells pid reuse apart. */
static long long process_start(long pid)
{
    char path[64], buffer[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buffer, 1, sizeof(buffer) - 1, f);
    fclose(f);
    buffer[n] = '\0';
    char *p = strrchr(buffer, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    long long value = -1;
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (p)
        sscanf(p + 1, "%lld", &value);
    return value;
}

static void host_name(char *out, size_t size)
{
    if (gethostname(out, size) != 0)
        snprintf(out, size, "unknown");
    out[size - 1] = '\0';
}

static char *lock_record(const char *token)
{
    char host[256], started[PGB_ISO8601_SIZE];
    host_name(host, sizeof(host));
    pgb_time_iso8601(time(NULL), started);
    long pid = (long)getpid();
    json_t *doc = json_pack("{s:i, s:I, s:s, s:s, s:s}", "pid", (int)pid, "pid_start",
                            (json_int_t)process_start(pid), "host", host, "started", started, "token", token);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

/* Whether the holder is a process of this host that no longer exists. */
static int holder_is_dead(json_t *holder)
{
    char host[256];
    host_name(host, sizeof(host));
    const char *holder_host = json_string_value(json_object_get(holder, "host"));
    long pid = (long)json_integer_value(json_object_get(holder, "pid"));
    long long started = json_integer_value(json_object_get(holder, "pid_start"));
    if (!holder_host || strcmp(holder_host, host) != 0 || pid <= 0)
        return 0;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 1;
    long long now_started = process_start(pid);
    return started > 0 && now_started > 0 && now_started != started; /* the pid was reused */
}

static int refuse(struct pgb_repo *repo, json_t *holder, const char *key)
{
    return pgb_error_set(repo->ctx, PGB_ELOCKED,
                         "cluster %s is locked by pid %lld on host %s since %s (lock %s in %s)", repo->cluster,
                         (long long)json_integer_value(json_object_get(holder, "pid")),
                         json_string_value(json_object_get(holder, "host")) ?: "?",
                         json_string_value(json_object_get(holder, "started")) ?: "?", key,
                         pgb_storage_name(repo->storage));
}

static int try_create(struct pgb_repo *repo, const char *key, const char *record)
{
    struct pgb_object_spec spec;
    pgb_repo_record_spec(repo, PGB_STORAGE_NO_OVERWRITE, &spec);
    return pgb_object_put(repo->storage, key, &repo->keys, &spec, record, strlen(record), NULL);
}

int pgb_repo_lock(pgb_repo *repo)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_error_clear(repo->ctx);
    if (repo->holds_lock)
        return PGB_OK;
    uint8_t random[16];
    RAND_bytes(random, sizeof(random));
    for (int i = 0; i < 16; i++)
        snprintf(repo->lock_token + 2 * i, 3, "%02x", random[i]);
    char key[PGB_KEY_SIZE];
    pgb_repo_cluster_key(repo, "lock/writer", key);
    char *record = lock_record(repo->lock_token);
    if (!record)
        return pgb_error_nomem(repo->ctx);
    int rc = try_create(repo, key, record);
    for (int attempt = 0; rc == PGB_EEXISTS && attempt < 2; attempt++) {
        pgb_error_clear(repo->ctx);
        char *text = NULL;
        size_t size;
        rc = pgb_object_get(repo->storage, key, &repo->keys, (void **)&text, &size);
        if (rc == PGB_ENOTFOUND) { /* released meanwhile */
            pgb_error_clear(repo->ctx);
            rc = try_create(repo, key, record);
            continue;
        }
        if (rc != PGB_OK)
            break;
        json_t *holder = json_loads(text, 0, NULL);
        if (!holder) {
            rc = pgb_error_set(repo->ctx, PGB_ECORRUPT, "lock %s is damaged (not JSON)", key);
        } else if (!holder_is_dead(holder)) {
            rc = refuse(repo, holder, key);
        } else {
            pgb_log(repo->ctx, PGB_LOG_WARNING, "taking over the lock of cluster %s left by pid %lld, which is gone",
                    repo->cluster, (long long)json_integer_value(json_object_get(holder, "pid")));
            /* Remove only the lock we judged: a racing process may already have replaced it. */
            char *again = NULL;
            if (pgb_object_get(repo->storage, key, &repo->keys, (void **)&again, &size) == PGB_OK &&
                strcmp(again, text) == 0)
                pgb_storage_remove(repo->storage, key);
            free(again);
            pgb_error_clear(repo->ctx);
            rc = try_create(repo, key, record);
        }
        json_decref(holder);
        free(text);
    }
    free(record);
    if (rc == PGB_OK)
        repo->holds_lock = 1;
    return rc;
}

int pgb_repo_lock_release(struct pgb_repo *repo)
{
    if (!repo->holds_lock)
        return PGB_OK;
    char key[PGB_KEY_SIZE];
    pgb_repo_cluster_key(repo, "lock/writer", key);
    /* Remove it only if it is still ours (never another process's lock). */
    char *text = NULL;
    size_t size;
    int rc = pgb_object_get(repo->storage, key, &repo->keys, (void **)&text, &size);
    if (rc == PGB_OK) {
        json_t *holder = json_loads(text, 0, NULL);
        const char *token = json_string_value(json_object_get(holder, "token"));
        if (token && strcmp(token, repo->lock_token) == 0)
            rc = pgb_storage_remove(repo->storage, key);
        json_decref(holder);
    } else if (rc == PGB_ENOTFOUND) {
        pgb_error_clear(repo->ctx);
        rc = PGB_OK;
    }
    free(text);
    repo->holds_lock = 0;
    return rc;
}

int pgb_repo_unlock(pgb_repo *repo)
{
    if (!pgb_repo_is_valid(repo))
        return PGB_EINVALID;
    pgb_error_clear(repo->ctx);
    return pgb_repo_lock_release(repo);
}
