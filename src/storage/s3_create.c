/*
 * Commits on S3, and create-only commits (PGB_STORAGE_NO_OVERWRITE: catalog
 * records, the writer lock, archived WAL) that must fail atomically when the
 * key exists.
 *
 * Where the server honours "If-None-Match: *" on PUT and on
 * CompleteMultipartUpload (AWS since 2024, MinIO, Ceph), the server decides.
 * With s3-conditional-write=auto (the default) the first create-only commit
 * of a handle probes for it: two conditional PUTs of a private object; the
 * second must be refused with 412.
 *
 * Elsewhere (s3rver, older servers) a lease stands in: the writer puts a
 * claim object with a unique token under .pgbackup/claims/<key>/, lists the
 * claims, and goes on only when its own is the only live one; it then checks
 * the key is absent, writes it, reads it back (HEAD: the ETag must be the one
 * it wrote) and removes its claim. Two writers that both see each other's
 * claim both step back and retry after a random delay. Claims older than
 * storage-timeout + 60 s (by the server's LastModified) are dead and ignored.
 * Limits: this needs read-after-write consistent listings (AWS since
 * December 2020, MinIO, s3rver), and a writer that stalls for longer than the
 * lease between its listing and its PUT can race another writer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/text.h"
#include "storage/s3_backend.h"
#include "storage/s3_xml.h"

/* The ETag S3 gives a single PUT without SSE-KMS: the body's MD5 in quotes. */
static void md5_etag(const struct s3_call *call, char out[40])
{
    uint8_t md5[16];
    unsigned int length = 0;
    char hex[33] = "";
    if (EVP_Digest(call->body ? call->body : "", call->body_size, md5, &length, EVP_md5(), NULL) == 1)
        pgb_hex_encode(md5, sizeof(md5), hex);
    snprintf(out, 40, "\"%s\"", hex);
}

/* The ETag of a completed multipart upload, from the answer's body. */
static void complete_etag(const struct s3_reply *reply, char *out, size_t size)
{
    struct s3_xml_span body = {reply->body ? reply->body : "", reply->body_size};
    char *etag = s3_xml_text(body, "ETag");
    snprintf(out, size, "%s", etag ? etag : "");
    free(etag);
}

static int is_complete(const struct s3_call *call)
{
    return strcmp(call->method, "POST") == 0;
}

/* Judge the answer to a PUT or a CompleteMultipartUpload. */
static int judge_commit(struct s3_backend *b, int rc, struct s3_reply *reply, const char *object,
                        const struct s3_call *call, const char *operation)
{
    if (rc == 0 && reply->status == 200 && is_complete(call)) {
        /* CompleteMultipartUpload can fail after its 200 status line: the body then holds an <Error>. */
        struct s3_xml_span body = {reply->body ? reply->body : "", reply->body_size}, error;
        if (s3_xml_next(body, NULL, "Error", &error)) {
            s3_reply_describe(reply);
            return s3_fail(b, 0, reply, operation, object);
        }
        return PGB_OK;
    }
    if (rc == 0 && reply->status == 200)
        return PGB_OK;
    if (rc == 0 && reply->status == 404 && is_complete(call) && reply->attempts > 1 &&
        s3_head(b, object, NULL, NULL, 0) == PGB_OK) {
        pgb_error_clear(b->ctx); /* an earlier attempt completed it and its answer was lost */
        return PGB_OK;
    }
    return s3_fail(b, rc, reply, operation, object);
}

int s3_commit_call(struct s3_backend *b, const char *object, const struct s3_call *call, const char *operation)
{
    struct s3_reply reply;
    int rc = s3_backend_send(b, call, &reply);
    rc = judge_commit(b, rc, &reply, object, call, operation);
    s3_reply_free(&reply);
    return rc;
}

/* ---- If-None-Match ---- */

static int conditional_put(struct s3_backend *b, const char *object, const struct s3_call *call, long *status,
                           int *attempts, struct s3_reply *reply)
{
    size_t count = call->header_count + 1;
    struct pgb_sigv4_header *headers = calloc(count, sizeof(*headers));
    if (!headers)
        return pgb_error_nomem(b->ctx);
    if (call->header_count)
        memcpy(headers, call->headers, call->header_count * sizeof(*headers));
    headers[call->header_count] = (struct pgb_sigv4_header){"If-None-Match", "*"};
    struct s3_call conditional = *call;
    conditional.headers = headers;
    conditional.header_count = count;
    (void)object;
    int rc = s3_backend_send(b, &conditional, reply);
    free(headers);
    *status = rc == 0 ? reply->status : 0;
    *attempts = reply->attempts;
    return rc;
}

static void random_hex(char out[33])
{
    uint8_t random[16];
    RAND_bytes(random, sizeof(random));
    pgb_hex_encode(random, sizeof(random), out);
}

/* Does the server refuse a second "If-None-Match: *" PUT of the same key? Sets b->conditional. */
static int probe_conditional(struct s3_backend *b)
{
    char token[33];
    random_hex(token);
    char *object = pgb_text_printf("%s.pgbackup/probe/%s", b->session.config->prefix, token);
    if (!object)
        return pgb_error_nomem(b->ctx);
    struct s3_call put = {.method = "PUT", .object = object, .body = "probe", .body_size = 5};
    int rc = PGB_OK;
    long status[2] = {0, 0};
    for (int i = 0; i < 2 && rc == PGB_OK; i++) {
        struct s3_reply reply;
        int attempts = 0;
        int sent = conditional_put(b, object, &put, &status[i], &attempts, &reply);
        if (sent != 0 || (status[i] != 200 && status[i] != 412 && status[i] != 501 && status[i] != 400))
            rc = s3_fail(b, sent, &reply, "PUT (probe of If-None-Match)", object);
        s3_reply_free(&reply);
    }
    s3_delete_object(b, object);
    free(object);
    if (rc != PGB_OK)
        return rc;
    pgb_error_clear(b->ctx);
    b->conditional = status[0] == 200 && status[1] == 412;
    if (!b->conditional)
        pgb_log(b->ctx, PGB_LOG_DEBUG, "S3 server %s://%s does not honour If-None-Match on PUT: create-only "
                "writes to %s use leases", b->session.config->scheme, b->session.config->host,
                b->session.config->url);
    return PGB_OK;
}

static int create_conditional(struct s3_backend *b, const char *object, const struct s3_call *call)
{
    const char *operation = is_complete(call) ? "CompleteMultipartUpload" : "PUT";
    double deadline = s3_now() + b->session.config->timeout_seconds;
    for (int attempt = 1;; attempt++) {
        struct s3_reply reply;
        long status = 0;
        int attempts = 0;
        int rc = conditional_put(b, object, call, &status, &attempts, &reply);
        if (rc == 0 && status == 412) {
            /* A retried PUT may meet its own first attempt: the same bytes are not a conflict. */
            char ours[40], theirs[130] = "";
            if (attempts > 1 && !is_complete(call)) {
                md5_etag(call, ours);
                if (s3_head(b, object, NULL, theirs, sizeof(theirs)) == PGB_OK && strcmp(ours, theirs) == 0) {
                    s3_reply_free(&reply);
                    return PGB_OK;
                }
            }
            s3_reply_free(&reply);
            return pgb_error_set(b->ctx, PGB_EEXISTS, "object s3://%s/%s exists already", b->session.config->bucket,
                                 object);
        }
        /* 409 ConditionalRequestConflict: another conditional write of the key is in flight. */
        if (rc == 0 && status == 409 && s3_now() < deadline) {
            s3_reply_free(&reply);
            s3_backoff(attempt, deadline);
            continue;
        }
        rc = judge_commit(b, rc, &reply, object, call, operation);
        s3_reply_free(&reply);
        return rc;
    }
}

/* ---- the lease ---- */

static long long iso_seconds(const char *text)
{
    struct tm tm = {0};
    if (sscanf(text, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm);
}

struct claims {
    char *names[64];
    long long times[64];
    int count;
};

static int collect_claim(const char *object, uint64_t size, const char *last_modified, void *payload)
{
    (void)size;
    struct claims *c = payload;
    if (c->count < 64) {
        c->names[c->count] = pgb_text_dup(object);
        c->times[c->count++] = iso_seconds(last_modified);
    }
    return 0;
}

static void free_claims(struct claims *c)
{
    for (int i = 0; i < c->count; i++)
        free(c->names[i]);
    c->count = 0;
}

static int create_with_lease(struct s3_backend *b, const char *object, const struct s3_call *call)
{
    const struct s3_config *config = b->session.config;
    const char *operation = is_complete(call) ? "CompleteMultipartUpload" : "PUT";
    char *claims_prefix = pgb_text_printf("%s.pgbackup/claims/%s/", config->prefix, object + strlen(config->prefix));
    if (!claims_prefix)
        return pgb_error_nomem(b->ctx);
    long long lease = config->timeout_seconds + 60;
    double deadline = s3_now() + config->timeout_seconds;
    int rc;
    for (int attempt = 1;; attempt++) {
        rc = s3_head(b, object, NULL, NULL, 0);
        if (rc == PGB_OK) {
            rc = pgb_error_set(b->ctx, PGB_EEXISTS, "object s3://%s/%s exists already", config->bucket, object);
            break;
        }
        if (rc != PGB_ENOTFOUND)
            break;
        char token[33];
        random_hex(token);
        char *claim = pgb_text_printf("%s%s", claims_prefix, token);
        if (!claim) {
            rc = pgb_error_nomem(b->ctx);
            break;
        }
        struct s3_call put = {.method = "PUT", .object = claim, .body = token, .body_size = 32};
        rc = s3_commit_call(b, claim, &put, "PUT (lease claim)");
        struct claims seen = {0};
        if (rc == PGB_OK)
            rc = s3_list_objects(b, claims_prefix, collect_claim, &seen);
        long long our_time = -1;
        for (int i = 0; i < seen.count; i++)
            if (strcmp(seen.names[i], claim) == 0)
                our_time = seen.times[i];
        int live_others = our_time < 0; /* our own claim not listed yet: do not go on */
        for (int i = 0; rc == PGB_OK && i < seen.count; i++) {
            if (strcmp(seen.names[i], claim) == 0)
                continue;
            if (our_time >= 0 && seen.times[i] >= 0 && our_time - seen.times[i] > lease)
                s3_delete_object(b, seen.names[i]); /* a writer that died holding it */
            else
                live_others = 1;
        }
        free_claims(&seen);
        if (rc == PGB_OK && !live_others) {
            /* Ours alone: check, write, read back. */
            rc = s3_head(b, object, NULL, NULL, 0);
            if (rc == PGB_OK) {
                rc = pgb_error_set(b->ctx, PGB_EEXISTS, "object s3://%s/%s exists already", config->bucket, object);
            } else if (rc == PGB_ENOTFOUND) {
                pgb_error_clear(b->ctx);
                struct s3_reply reply;
                int sent = s3_backend_send(b, call, &reply);
                rc = judge_commit(b, sent, &reply, object, call, operation);
                char written[130] = "", found[130] = "";
                if (rc == PGB_OK) {
                    if (is_complete(call))
                        complete_etag(&reply, written, sizeof(written));
                    else
                        snprintf(written, sizeof(written), "%s", reply.etag);
                    rc = s3_head(b, object, NULL, found, sizeof(found));
                    if (rc == PGB_OK && written[0] && strcmp(written, found) != 0)
                        rc = pgb_error_set(b->ctx, PGB_EIO, "S3 object s3://%s/%s changed just after it was "
                                           "written (ETag %s, then %s): another writer ignored the lease",
                                           config->bucket, object, written, found);
                }
                s3_reply_free(&reply);
            }
        }
        /* Housekeeping: neither changes the outcome nor the error recorded (a stale claim expires). */
        struct s3_reply ignored;
        struct s3_call remove = {.method = "DELETE", .object = claim};
        s3_backend_send(b, &remove, &ignored);
        s3_reply_free(&ignored);
        free(claim);
        if (rc != PGB_OK || !live_others)
            break;
        if (s3_now() >= deadline) {
            rc = pgb_error_set(b->ctx, PGB_ELOCKED, "cannot create s3://%s/%s: other writers held leases on it for "
                               "%d s (storage-timeout)", config->bucket, object, config->timeout_seconds);
            break;
        }
        s3_backoff(attempt + 1, deadline);
    }
    free(claims_prefix);
    return rc;
}

int s3_create_only(struct s3_backend *b, const char *object, const struct s3_call *call)
{
    if (b->conditional < 0) {
        int rc = probe_conditional(b);
        if (rc != PGB_OK)
            return rc;
    }
    return b->conditional ? create_conditional(b, object, call) : create_with_lease(b, object, call);
}
