/*
 * Opening and creating repositories. The marker object pgbackup.repo is the
 * repository's commit point: it is written last at init, so a storage without
 * it holds no repository, whatever else it holds.
 */
#include "repo/repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>

#include <pgbackup/ctx.h>
#include <pgbackup/error.h>
#include <pgbackup/options.h>
#include <pgbackup/version.h>

#include "core/clock.h"
#include "core/context.h"
#include "core/error.h"
#include "core/handle.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/text.h"
#include "pipeline/compress.h"
#include "pipeline/content_id.h"
#include "repo/keyring.h"
#include "repo/secret_files.h"
#include "storage/storage.h"

int pgb_repo_is_valid(const pgb_repo *repo)
{
    return repo && repo->magic == PGB_MAGIC_REPO && pgb_ctx_is_valid(repo->ctx);
}

static int is_repo(const pgb_repo *repo)
{
    return pgb_repo_is_valid(repo);
}

void pgb_repo_record_spec(const struct pgb_repo *repo, int flags, struct pgb_object_spec *spec)
{
    (void)repo;
    *spec = (struct pgb_object_spec){.codec = PGB_CODEC_ZSTD, .level = 3, .seal = PGB_SEAL_WRITER, .flags = flags};
}

void pgb_repo_cluster_key(const struct pgb_repo *repo, const char *suffix, char out[PGB_KEY_SIZE])
{
    snprintf(out, PGB_KEY_SIZE, "%s/%s", repo->cluster_dir, suffix);
}

static int any_object(const char *key, uint64_t size, void *payload)
{
    (void)key, (void)size;
    *(int *)payload = 1;
    return 1; /* one is enough */
}

static int storage_is_empty(pgb_storage *storage, int *empty)
{
    int found = 0;
    int rc = pgb_storage_list(storage, "", any_object, &found);
    if (rc == PGB_ECANCELED) {
        pgb_error_clear(storage->ctx);
        rc = PGB_OK;
    }
    *empty = !found;
    return rc;
}

static struct pgb_repo *repo_new(pgb_storage *storage)
{
    struct pgb_repo *repo = calloc(1, sizeof(*repo));
    if (!repo)
        return NULL;
    repo->magic = PGB_MAGIC_REPO;
    repo->ctx = storage->ctx;
    repo->storage = storage;
    return repo;
}

static const char *encryption_name(int passphrase, size_t recipients)
{
    if (passphrase && recipients)
        return "passphrase+recipients";
    return passphrase ? "passphrase" : recipients ? "recipients" : "none";
}

/* Read pgbackup.repo into repo: id and encryption. */
static int read_marker(struct pgb_repo *repo)
{
    char *text = NULL;
    size_t size = 0;
    int rc = pgb_storage_get(repo->storage, PGB_REPO_MARKER, (void **)&text, &size);
    if (rc == PGB_ENOTFOUND)
        return pgb_error_set(repo->ctx, PGB_ENOTFOUND, "no libpgbackup repository at %s (no %s): create it with "
                             "pgbackup repo-init", pgb_storage_name(repo->storage), PGB_REPO_MARKER);
    if (rc != PGB_OK)
        return rc;
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    const char *id = json_string_value(json_object_get(doc, "repository_id"));
    const char *encryption = json_string_value(json_object_get(doc, "encryption"));
    json_int_t version = json_integer_value(json_object_get(doc, "format_version"));
    if (!doc || !id || strlen(id) != 32 || !encryption || strlen(encryption) >= sizeof(repo->encryption))
        rc = pgb_error_set(repo->ctx, PGB_ECORRUPT, "%s in %s is damaged", PGB_REPO_MARKER,
                           pgb_storage_name(repo->storage));
    else if (version != PGB_REPO_FORMAT_VERSION)
        rc = pgb_error_set(repo->ctx, PGB_EUNSUPPORTED, "repository %s has format version %lld; this library "
                           "(%s) reads version %d", pgb_storage_name(repo->storage), (long long)version,
                           PGB_VERSION_STRING, PGB_REPO_FORMAT_VERSION);
    if (rc == PGB_OK) {
        snprintf(repo->id, sizeof(repo->id), "%s", id);
        snprintf(repo->encryption, sizeof(repo->encryption), "%s", encryption);
    }
    json_decref(doc);
    return rc;
}

static int write_marker(struct pgb_repo *repo)
{
    char created[PGB_ISO8601_SIZE];
    pgb_time_iso8601(time(NULL), created);
    json_t *doc = json_pack("{s:s, s:i, s:s, s:s, s:s}", "format", "libpgbackup repository", "format_version",
                            PGB_REPO_FORMAT_VERSION, "repository_id", repo->id, "created", created, "encryption",
                            repo->encryption);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return pgb_error_nomem(repo->ctx);
    int rc = pgb_storage_put(repo->storage, PGB_REPO_MARKER, text, strlen(text), PGB_STORAGE_NO_OVERWRITE);
    free(text);
    return rc;
}

/* Set the cluster from the options, and its folder. */
static int choose_cluster(struct pgb_repo *repo, const pgb_options *opts)
{
    const char *cluster = "main";
    if (opts)
        pgb_options_get(opts, "cluster", &cluster);
    repo->cluster = pgb_text_dup(cluster);
    if (!repo->cluster)
        return pgb_error_nomem(repo->ctx);
    return pgb_layout_cluster_dir(repo->ctx, &repo->keys, repo->cluster, repo->cluster_dir);
}

/* The cluster record: created once, never replaced. */
static int add_cluster(struct pgb_repo *repo)
{
    char key[PGB_KEY_SIZE], created[PGB_ISO8601_SIZE];
    pgb_repo_cluster_key(repo, "cluster", key);
    if (pgb_storage_stat(repo->storage, key, NULL) == PGB_OK)
        return PGB_OK;
    pgb_error_clear(repo->ctx);
    pgb_time_iso8601(time(NULL), created);
    json_t *doc = json_pack("{s:s, s:s}", "name", repo->cluster, "created", created);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return pgb_error_nomem(repo->ctx);
    struct pgb_object_spec spec;
    pgb_repo_record_spec(repo, PGB_STORAGE_NO_OVERWRITE, &spec);
    int rc = pgb_object_put(repo->storage, key, &repo->keys, &spec, text, strlen(text), NULL);
    free(text);
    if (rc == PGB_EEXISTS) { /* another process added it meanwhile */
        pgb_error_clear(repo->ctx);
        rc = PGB_OK;
    }
    return rc;
}

static int requested_encryption(const pgb_options *opts, int *passphrase, size_t *recipients)
{
    const char *value = NULL;
    *passphrase = opts && pgb_options_get(opts, "passphrase-file", &value) == PGB_OK && value;
    *recipients = 0;
    while (opts && pgb_options_get_at(opts, "recipient", *recipients, &value) == PGB_OK && value)
        (*recipients)++;
    return PGB_OK;
}

static int unlock(struct pgb_repo *repo, const pgb_options *opts)
{
    if (strcmp(repo->encryption, "none") == 0)
        return PGB_OK;
    char *default_writer_key = pgb_writer_key_default_path(repo->id);
    int rc = pgb_keyring_open(repo->storage, opts, default_writer_key, &repo->keys);
    free(default_writer_key);
    return rc == PGB_OK ? pgb_keyset_prepare_id_key(repo->ctx, &repo->keys) : rc;
}

static int write_writer_key(struct pgb_repo *repo, const pgb_options *opts)
{
    const char *path = NULL;
    if (opts)
        pgb_options_get(opts, "writer-key", &path);
    char *default_path = path ? NULL : pgb_writer_key_default_path(repo->id);
    int rc = pgb_writer_key_file_write(repo->ctx, path ? path : default_path, repo->keys.writer);
    if (rc == PGB_OK)
        pgb_log(repo->ctx, PGB_LOG_INFO, "writer key of repository %s written to %s: this host needs it to write "
                "backups; readers need --identity", repo->id, path ? path : default_path);
    free(default_path);
    return rc;
}

static int create_new(struct pgb_repo *repo, const pgb_options *opts, int passphrase, size_t recipients)
{
    uint8_t random[16];
    if (RAND_bytes(random, sizeof(random)) != 1)
        return pgb_error_set(repo->ctx, PGB_ERROR, "cannot make a repository id: no random bytes");
    pgb_hex_encode(random, sizeof(random), repo->id);
    snprintf(repo->encryption, sizeof(repo->encryption), "%s", encryption_name(passphrase, recipients));
    int rc = PGB_OK;
    if (passphrase || recipients) {
        int has_passphrase = 0;
        size_t count = 0;
        rc = pgb_keyring_create(repo->storage, opts, &repo->keys, &has_passphrase, &count);
        if (rc == PGB_OK)
            rc = pgb_keyset_prepare_id_key(repo->ctx, &repo->keys);
        if (rc == PGB_OK && recipients && !passphrase)
            rc = write_writer_key(repo, opts);
        if (rc != PGB_OK)
            pgb_storage_remove(repo->storage, PGB_REPO_KEYRING); /* no half-made repository */
    }
    if (rc == PGB_OK)
        rc = write_marker(repo);
    return rc;
}

int pgb_repo_init(pgb_repo **out, pgb_storage *storage, const pgb_options *opts)
{
    if (!storage || storage->magic != PGB_MAGIC_STORAGE || !pgb_ctx_is_valid(storage->ctx))
        return PGB_EINVALID;
    pgb_ctx *ctx = storage->ctx;
    pgb_error_clear(ctx);
    if (!out)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_repo_init: out is NULL");
    *out = NULL;
    struct pgb_repo *repo = repo_new(storage);
    if (!repo)
        return pgb_error_nomem(ctx);
    int passphrase = 0;
    size_t recipients = 0;
    requested_encryption(opts, &passphrase, &recipients);

    int exists = pgb_storage_stat(storage, PGB_REPO_MARKER, NULL) == PGB_OK;
    pgb_error_clear(ctx);
    int rc = PGB_OK;
    if (exists) {
        rc = read_marker(repo);
        if (rc == PGB_OK && (passphrase || recipients) &&
            strcmp(repo->encryption, encryption_name(passphrase, recipients)) != 0)
            rc = pgb_error_set(ctx, PGB_EINVALID, "repository %s exists already with encryption '%s'; its "
                               "encryption cannot change", pgb_storage_name(storage), repo->encryption);
        if (rc == PGB_OK)
            rc = unlock(repo, opts);
    } else {
        int empty = 0;
        rc = storage_is_empty(storage, &empty);
        if (rc == PGB_OK && !empty)
            rc = pgb_error_set(ctx, PGB_EREFUSED, "refusing to create a repository in %s: it is not empty and "
                               "is not a libpgbackup repository", pgb_storage_name(storage));
        if (rc == PGB_OK)
            rc = create_new(repo, opts, passphrase, recipients);
    }
    if (rc == PGB_OK)
        rc = choose_cluster(repo, opts);
    if (rc == PGB_OK)
        rc = add_cluster(repo);
    if (rc != PGB_OK) {
        pgb_repo_close(repo);
        return rc;
    }
    *out = repo;
    return PGB_OK;
}

int pgb_repo_open(pgb_repo **out, pgb_storage *storage, const pgb_options *opts)
{
    if (!storage || storage->magic != PGB_MAGIC_STORAGE || !pgb_ctx_is_valid(storage->ctx))
        return PGB_EINVALID;
    pgb_ctx *ctx = storage->ctx;
    pgb_error_clear(ctx);
    if (!out)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_repo_open: out is NULL");
    *out = NULL;
    struct pgb_repo *repo = repo_new(storage);
    if (!repo)
        return pgb_error_nomem(ctx);
    int rc = read_marker(repo);
    if (rc == PGB_OK)
        rc = unlock(repo, opts);
    if (rc == PGB_OK)
        rc = choose_cluster(repo, opts);
    if (rc != PGB_OK) {
        pgb_repo_close(repo);
        return rc;
    }
    *out = repo;
    return PGB_OK;
}

int pgb_repo_worker_view(struct pgb_repo **out, const struct pgb_repo *repo, pgb_ctx *ctx, pgb_storage *storage)
{
    *out = NULL;
    struct pgb_repo *view = calloc(1, sizeof(*view));
    if (!view)
        return pgb_error_nomem(ctx);
    view->magic = PGB_MAGIC_REPO;
    view->ctx = ctx;
    view->storage = storage;
    memcpy(view->id, repo->id, sizeof(view->id));
    memcpy(view->encryption, repo->encryption, sizeof(view->encryption));
    view->keys = repo->keys;
    memcpy(view->cluster_dir, repo->cluster_dir, sizeof(view->cluster_dir));
    view->cluster = pgb_text_dup(repo->cluster);
    if (!view->cluster) {
        pgb_keyset_wipe(&view->keys);
        free(view);
        return pgb_error_nomem(ctx);
    }
    *out = view;
    return PGB_OK;
}

int pgb_repo_worker_open(struct pgb_repo_worker *w, const struct pgb_repo *repo)
{
    *w = (struct pgb_repo_worker){0};
    if (pgb_ctx_new(&w->ctx) != PGB_OK)
        return pgb_error_nomem(repo->ctx);
    int rc = pgb_storage_reopen(&w->storage, w->ctx, repo->storage);
    if (rc == PGB_OK)
        rc = pgb_repo_worker_view(&w->repo, repo, w->ctx, w->storage);
    if (rc != PGB_OK)
        rc = pgb_error_set(repo->ctx, rc, "cannot prepare a worker: %s", pgb_ctx_errmsg(w->ctx));
    return rc;
}

void pgb_repo_worker_close(struct pgb_repo_worker *w)
{
    pgb_repo_close(w->repo);
    pgb_storage_free(w->storage);
    pgb_ctx_free(w->ctx);
    *w = (struct pgb_repo_worker){0};
}

void pgb_repo_close(pgb_repo *repo)
{
    if (!is_repo(repo))
        return;
    if (repo->holds_lock) {
        /* Keep the caller's last error: releasing is housekeeping. */
        pgb_repo_lock_release(repo);
    }
    pgb_keyset_wipe(&repo->keys);
    free(repo->cluster);
    repo->magic = PGB_MAGIC_FREED;
    free(repo);
}

const char *pgb_repo_encryption(const pgb_repo *repo)
{
    return is_repo(repo) ? repo->encryption : NULL;
}

const char *pgb_repo_id(const pgb_repo *repo)
{
    return is_repo(repo) ? repo->id : NULL;
}

int pgb_repo_can_read(const pgb_repo *repo)
{
    return is_repo(repo) && (!repo->keys.encrypted || repo->keys.has_private);
}
