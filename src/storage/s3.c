/*
 * The S3 backend: objects under s3://bucket/prefix on AWS or any
 * S3-compatible server. This file fills the function table and does what
 * needs one request (stat, remove) or a loop of them (listing with
 * continuation, batched removal); reads, writes and create-only commits have
 * files of their own. Keys with a part starting with '.' are the backend's
 * own (leases, probes: .pgbackup/) and never listed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <pgbackup/error.h>

#include "core/base64.h"
#include "core/context.h"
#include "core/error.h"
#include "core/text.h"
#include "storage/s3_backend.h"
#include "storage/s3_xml.h"
#include "storage/storage.h"

int s3_fail(struct s3_backend *b, int send_rc, const struct s3_reply *reply, const char *operation,
            const char *object)
{
    const struct s3_config *c = b->session.config;
    if (send_rc == -2)
        return pgb_error_set(b->ctx, PGB_ECANCELED, "S3 %s of s3://%s/%s canceled", operation, c->bucket,
                             object ? object : "");
    if (send_rc != 0 || reply->status == 0)
        return pgb_error_set(b->ctx, PGB_ECONNECTION, "S3 %s of s3://%s/%s failed: cannot reach %s://%s: %s",
                             operation, c->bucket, object ? object : "", c->scheme, c->host, reply->error);
    int code = PGB_EIO;
    if (reply->status == 404)
        code = PGB_ENOTFOUND;
    else if (reply->status == 401 || reply->status == 403)
        code = PGB_EAUTH;
    else if (reply->status == 412)
        code = PGB_EEXISTS;
    pgb_error_set(b->ctx, code, "S3 %s of s3://%s/%s failed: %s", operation, c->bucket, object ? object : "",
                  reply->error);
    if (code == PGB_EAUTH)
        pgb_error_set_detail(b->ctx, "endpoint %s://%s, region %s, access key id %s", c->scheme, c->host, c->region,
                             c->access_key);
    return code;
}

int s3_backend_own(struct s3_backend *b)
{
    if (b->pid == getpid())
        return PGB_OK;
    /* The inherited handles are abandoned, not freed: freeing would talk on the parent's connections. */
    struct s3_config *config = b->session.config;
    atomic_int *canceled = b->session.canceled;
    b->curl = NULL;
    if (s3_session_open(&b->session, config, canceled) != 0 || !(b->curl = s3_easy_new(&b->session)))
        return pgb_error_nomem(b->ctx);
    b->pid = getpid();
    return PGB_OK;
}

int s3_backend_send(struct s3_backend *b, const struct s3_call *call, struct s3_reply *reply)
{
    if (s3_backend_own(b) != PGB_OK) {
        *reply = (struct s3_reply){0};
        snprintf(reply->error, sizeof(reply->error), "out of memory");
        return -1;
    }
    return s3_send(&b->session, b->curl, call, reply);
}

int s3_head(struct s3_backend *b, const char *object, uint64_t *size, char *etag, size_t etag_size)
{
    struct s3_call call = {.method = "HEAD", .object = object};
    struct s3_reply reply;
    int rc = s3_backend_send(b, &call, &reply);
    if (rc == 0 && reply.status == 200) {
        if (size)
            *size = reply.content_length;
        if (etag)
            snprintf(etag, etag_size, "%s", reply.etag);
        s3_reply_free(&reply);
        return PGB_OK;
    }
    rc = rc == 0 && reply.status == 404 ? PGB_ENOTFOUND : s3_fail(b, rc, &reply, "HEAD", object);
    s3_reply_free(&reply);
    return rc;
}

int s3_object_headers(const struct s3_config *c, struct pgb_sigv4_header *headers, size_t capacity, size_t *count,
                      char *retain_until, size_t retain_size)
{
    size_t n = 0;
    if (capacity < 5)
        return -1;
    if (c->storage_class)
        headers[n++] = (struct pgb_sigv4_header){"x-amz-storage-class", c->storage_class};
    if (c->sse)
        headers[n++] = (struct pgb_sigv4_header){"x-amz-server-side-encryption", c->sse};
    if (c->sse_kms_key_id)
        headers[n++] = (struct pgb_sigv4_header){"x-amz-server-side-encryption-aws-kms-key-id", c->sse_kms_key_id};
    if (c->object_lock_mode) {
        /* Retention runs from the commit: the lock protects this version until then, whatever DELETE says. */
        time_t until = time(NULL) + (time_t)c->object_lock_days * 86400;
        struct tm tm;
        gmtime_r(&until, &tm);
        strftime(retain_until, retain_size, "%Y-%m-%dT%H:%M:%SZ", &tm);
        headers[n++] = (struct pgb_sigv4_header){"x-amz-object-lock-mode", c->object_lock_mode};
        headers[n++] = (struct pgb_sigv4_header){"x-amz-object-lock-retain-until-date", retain_until};
    }
    *count = n;
    return 0;
}

int s3_delete_object(struct s3_backend *b, const char *object)
{
    struct s3_call call = {.method = "DELETE", .object = object};
    struct s3_reply reply;
    int rc = s3_backend_send(b, &call, &reply);
    if (rc == 0 && (reply.status == 204 || reply.status == 200 || reply.status == 404))
        rc = PGB_OK;
    else
        rc = s3_fail(b, rc, &reply, "DELETE", object);
    s3_reply_free(&reply);
    return rc;
}

/* ---- listing ---- */

int s3_list_objects(struct s3_backend *b, const char *prefix, s3_list_fn each, void *payload)
{
    char *token = NULL;
    char page[16];
    snprintf(page, sizeof(page), "%d", b->list_page_size);
    int rc = PGB_OK;
    do {
        struct pgb_sigv4_pair query[4] = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", page}};
        size_t query_count = 3;
        if (token)
            query[query_count++] = (struct pgb_sigv4_pair){"continuation-token", token};
        struct s3_call call = {.method = "GET", .query = query, .query_count = query_count};
        struct s3_reply reply;
        int sent = s3_backend_send(b, &call, &reply);
        free(token);
        token = NULL;
        if (sent != 0 || reply.status != 200) {
            rc = s3_fail(b, sent, &reply, "LIST", prefix);
            s3_reply_free(&reply);
            break;
        }
        struct s3_xml_span body = {reply.body ? reply.body : "", reply.body_size}, result, entry;
        if (!s3_xml_next(body, NULL, "ListBucketResult", &result)) {
            rc = pgb_error_set(b->ctx, PGB_EIO, "S3 LIST of s3://%s/%s: the answer is not a ListBucketResult",
                               b->session.config->bucket, prefix);
            s3_reply_free(&reply);
            break;
        }
        const char *cursor = NULL;
        while (rc == PGB_OK && s3_xml_next(result, &cursor, "Contents", &entry)) {
            char *key = s3_xml_text(entry, "Key"), *size = s3_xml_text(entry, "Size");
            char *modified = s3_xml_text(entry, "LastModified");
            if (!key || !size)
                rc = pgb_error_set(b->ctx, PGB_EIO, "S3 LIST of s3://%s/%s: an entry without Key or Size",
                                   b->session.config->bucket, prefix);
            else if (each(key, strtoull(size, NULL, 10), modified ? modified : "", payload) != 0)
                rc = pgb_error_set(b->ctx, PGB_ECANCELED, "listing of %s stopped by its callback",
                                   b->session.config->url);
            free(key);
            free(size);
            free(modified);
        }
        char *truncated = s3_xml_text(result, "IsTruncated");
        if (rc == PGB_OK && truncated && strcmp(truncated, "true") == 0) {
            token = s3_xml_text(result, "NextContinuationToken");
            if (!token)
                rc = pgb_error_set(b->ctx, PGB_EIO, "S3 LIST of s3://%s/%s: truncated without a continuation token",
                                   b->session.config->bucket, prefix);
        }
        free(truncated);
        s3_reply_free(&reply);
    } while (rc == PGB_OK && token);
    free(token);
    return rc;
}

struct list_adapter {
    struct s3_backend *b;
    size_t prefix_length; /* of the configuration's prefix */
    pgb_storage_list_fn each;
    void *payload;
};

static int list_one(const char *object, uint64_t size, const char *last_modified, void *payload)
{
    (void)last_modified;
    struct list_adapter *a = payload;
    const char *key = object + a->prefix_length;
    if (strlen(object) <= a->prefix_length)
        return 0;
    /* Our own objects (.pgbackup/) and whatever is not a valid key are not the storage's. */
    if (key[0] == '.' || strstr(key, "/.") || strstr(key, "//") || key[strlen(key) - 1] == '/')
        return 0;
    return a->each(key, size, a->payload);
}

static int s3_list(void *payload, const char *prefix, pgb_storage_list_fn each, void *each_payload)
{
    struct s3_backend *b = payload;
    char *object_prefix = s3_config_object_key(b->session.config, prefix);
    if (!object_prefix)
        return pgb_error_nomem(b->ctx);
    struct list_adapter a = {b, strlen(b->session.config->prefix), each, each_payload};
    int rc = s3_list_objects(b, object_prefix, list_one, &a);
    free(object_prefix);
    return rc;
}

/* ---- stat, remove ---- */

static int s3_stat(void *payload, const char *key, uint64_t *size)
{
    struct s3_backend *b = payload;
    char *object = s3_config_object_key(b->session.config, key);
    if (!object)
        return pgb_error_nomem(b->ctx);
    int rc = s3_head(b, object, size, NULL, 0);
    free(object);
    return rc;
}

static int s3_remove(void *payload, const char *key)
{
    struct s3_backend *b = payload;
    char *object = s3_config_object_key(b->session.config, key);
    if (!object)
        return pgb_error_nomem(b->ctx);
    int rc = s3_delete_object(b, object);
    free(object);
    return rc;
}

int s3_delete_objects(struct s3_backend *b, const char *const *objects, size_t count)
{
    size_t capacity = 64 + count * 40;
    for (size_t i = 0; i < count; i++)
        capacity += strlen(objects[i]) * 6;
    char *body = malloc(capacity);
    if (!body)
        return pgb_error_nomem(b->ctx);
    size_t n = (size_t)snprintf(body, capacity, "<Delete><Quiet>true</Quiet>");
    for (size_t i = 0; i < count; i++) {
        char *escaped = s3_xml_escape(objects[i]);
        if (!escaped) {
            free(body);
            return pgb_error_nomem(b->ctx);
        }
        n += (size_t)snprintf(body + n, capacity - n, "<Object><Key>%s</Key></Object>", escaped);
        free(escaped);
    }
    n += (size_t)snprintf(body + n, capacity - n, "</Delete>");
    /* DeleteObjects requires an integrity header: Content-MD5 is the one every S3 server knows. */
    uint8_t md5[16];
    unsigned int md5_length = 0;
    char *md5_text = NULL;
    if (EVP_Digest(body, n, md5, &md5_length, EVP_md5(), NULL) == 1)
        md5_text = pgb_base64_encode(md5, sizeof(md5));
    if (!md5_text) {
        free(body);
        return pgb_error_set(b->ctx, PGB_ERROR, "cannot compute MD5 for S3 DeleteObjects");
    }
    struct pgb_sigv4_pair query[] = {{"delete", NULL}};
    struct pgb_sigv4_header headers[] = {{"Content-MD5", md5_text}, {"Content-Type", "application/xml"}};
    struct s3_call call = {.method = "POST", .query = query, .query_count = 1, .headers = headers, .header_count = 2,
                           .body = body, .body_size = n};
    struct s3_reply reply;
    int rc = s3_backend_send(b, &call, &reply);
    if (rc != 0 || reply.status != 200) {
        rc = s3_fail(b, rc, &reply, "DeleteObjects", objects[0]);
    } else {
        rc = PGB_OK;
        struct s3_xml_span all = {reply.body ? reply.body : "", reply.body_size}, error;
        const char *cursor = NULL;
        while (rc == PGB_OK && s3_xml_next(all, &cursor, "Error", &error)) {
            char *key = s3_xml_text(error, "Key"), *code = s3_xml_text(error, "Code");
            char *message = s3_xml_text(error, "Message");
            if (!code || strcmp(code, "NoSuchKey") != 0)
                rc = pgb_error_set(b->ctx, PGB_EIO, "S3 DeleteObjects of s3://%s/%s failed: %s: %s",
                                   b->session.config->bucket, key ? key : "?", code ? code : "?",
                                   message ? message : "");
            free(key);
            free(code);
            free(message);
        }
    }
    s3_reply_free(&reply);
    free(md5_text);
    free(body);
    return rc;
}

static int s3_remove_many(void *payload, const char *const *keys, size_t count)
{
    struct s3_backend *b = payload;
    int rc = PGB_OK;
    for (size_t start = 0; start < count && rc == PGB_OK; start += 1000) {
        size_t batch = count - start < 1000 ? count - start : 1000;
        char **objects = calloc(batch, sizeof(*objects));
        if (!objects)
            return pgb_error_nomem(b->ctx);
        for (size_t i = 0; i < batch && rc == PGB_OK; i++)
            if (!(objects[i] = s3_config_object_key(b->session.config, keys[start + i])))
                rc = pgb_error_nomem(b->ctx);
        if (rc == PGB_OK)
            rc = s3_delete_objects(b, (const char *const *)objects, batch);
        for (size_t i = 0; i < batch; i++)
            free(objects[i]);
        free(objects);
    }
    return rc;
}

/* ---- the handle ---- */

static void s3_free(void *payload)
{
    struct s3_backend *b = payload;
    if (b->curl)
        curl_easy_cleanup(b->curl);
    s3_session_close(&b->session);
    free(b);
}

static int s3_reopen(void *payload, pgb_ctx *ctx, struct pgb_storage_backend *out);

static int make_backend(pgb_ctx *ctx, struct s3_config *config, int conditional, struct pgb_storage_backend *out)
{
    struct s3_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return pgb_error_nomem(ctx);
    b->ctx = ctx;
    b->conditional = conditional;
    b->list_page_size = 1000;
    b->pid = getpid();
    if (s3_session_open(&b->session, config, &ctx->canceled) != 0 || !(b->curl = s3_easy_new(&b->session))) {
        s3_free(b);
        return pgb_error_nomem(ctx);
    }
    *out = (struct pgb_storage_backend){
        .ops =
            {
                .version = PGB_STORAGE_OPS_VERSION,
                .open_read = s3_open_read,
                .read = s3_read,
                .close_read = s3_close_read,
                .open_write = s3_open_write,
                .write = s3_write,
                .commit = s3_commit,
                .abort = s3_abort,
                .list = s3_list,
                .stat = s3_stat,
                .remove = s3_remove,
                .free = s3_free,
            },
        .payload = b,
        .reopen = s3_reopen,
        .remove_many = s3_remove_many,
    };
    return PGB_OK;
}

static int s3_reopen(void *payload, pgb_ctx *ctx, struct pgb_storage_backend *out)
{
    struct s3_backend *b = payload;
    return make_backend(ctx, b->session.config, b->conditional, out);
}

int pgb_s3_backend_new(pgb_ctx *ctx, const char *url, const pgb_options *opts, struct pgb_storage_backend *out)
{
    if (s3_curl_init() != 0)
        return pgb_error_set(ctx, PGB_ERROR, "cannot initialise libcurl");
    struct s3_config *config;
    int rc = s3_config_new(ctx, url, opts, &config);
    if (rc != PGB_OK)
        return rc;
    rc = make_backend(ctx, config, config->conditional_write, out);
    s3_config_unref(config); /* the session holds its own reference */
    return rc;
}

/* Tests prove continuation without writing a thousand objects. */
void pgb_s3_backend_set_list_page_size(void *payload, int size);
void pgb_s3_backend_set_list_page_size(void *payload, int size)
{
    ((struct s3_backend *)payload)->list_page_size = size;
}
