/*
 * Writing an S3 object. Bytes gather in a buffer of the part size; an object
 * that fits is one PUT at commit. A larger one becomes a multipart upload
 * whose parts go up on threads, a few at once (each thread with its own curl
 * handle), while the caller fills the next buffer; commit completes it. S3
 * shows nothing of an upload until it is completed, and abort (or any
 * failure) aborts it on the server.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <pgbackup/error.h>

#include "core/base64.h"
#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "storage/s3_backend.h"
#include "storage/s3_xml.h"

struct part {
    struct s3_writer *w;
    int number;
    uint8_t *data;
    size_t size;
    pthread_t thread;
    int running;
    int rc;           /* 0, or the s3_send result */
    struct s3_reply reply;
    char etag[130];
};

struct s3_writer {
    struct s3_backend *b;
    char *object;
    int flags;
    uint8_t *buffer;
    size_t used;
    char *upload_id;   /* set once the upload is multipart */
    struct part **parts; /* every part so far, in order (each allocated alone: threads hold them) */
    int part_count, part_capacity;
    int failed;         /* a part failed: commit must not complete */
};

static int md5_base64(const void *data, size_t size, char **out)
{
    uint8_t md5[16];
    unsigned int length = 0;
    *out = NULL;
    if (EVP_Digest(data, size, md5, &length, EVP_md5(), NULL) != 1)
        return -1;
    *out = pgb_base64_encode(md5, sizeof(md5));
    return *out ? 0 : -1;
}

/* Object Lock needs an integrity header on every request that carries data. */
static int needs_md5(const struct s3_config *c)
{
    return c->object_lock_mode != NULL;
}

int s3_open_write(void *payload, const char *key, int flags, void **stream)
{
    struct s3_backend *b = payload;
    if (s3_backend_own(b) != PGB_OK)
        return PGB_ENOMEM;
    struct s3_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return pgb_error_nomem(b->ctx);
    w->b = b;
    w->flags = flags;
    w->object = s3_config_object_key(b->session.config, key);
    if (!w->object) {
        free(w);
        return pgb_error_nomem(b->ctx);
    }
    *stream = w;
    return PGB_OK;
}

static void *upload_part(void *arg)
{
    struct part *p = arg;
    struct s3_backend *b = p->w->b;
    char number[16];
    snprintf(number, sizeof(number), "%d", p->number);
    struct pgb_sigv4_pair query[] = {{"partNumber", number}, {"uploadId", p->w->upload_id}};
    char *md5 = NULL;
    struct pgb_sigv4_header headers[1];
    size_t count = 0;
    if (needs_md5(b->session.config)) {
        if (md5_base64(p->data, p->size, &md5) != 0) {
            p->rc = -1;
            snprintf(p->reply.error, sizeof(p->reply.error), "cannot compute MD5");
            return NULL;
        }
        headers[count++] = (struct pgb_sigv4_header){"Content-MD5", md5};
    }
    struct s3_call call = {.method = "PUT", .object = p->w->object, .query = query, .query_count = 2,
                           .headers = headers, .header_count = count, .body = p->data, .body_size = p->size};
    CURL *curl = s3_easy_new(&b->session);
    if (!curl) {
        p->rc = -1;
        snprintf(p->reply.error, sizeof(p->reply.error), "out of memory");
    } else {
        p->rc = s3_send(&b->session, curl, &call, &p->reply);
        curl_easy_cleanup(curl);
        if (p->rc == 0 && p->reply.status == 200 && p->reply.etag[0])
            snprintf(p->etag, sizeof(p->etag), "%s", p->reply.etag);
        else if (p->rc == 0 && p->reply.status == 200)
            snprintf(p->reply.error, sizeof(p->reply.error), "HTTP 200 without an ETag");
    }
    free(md5);
    return NULL;
}

/* Wait for part i's thread; record its failure in the context once. */
static int join_part(struct s3_writer *w, struct part *p)
{
    if (!p->running)
        return p->etag[0] ? PGB_OK : PGB_EIO;
    pthread_join(p->thread, NULL);
    p->running = 0;
    free(p->data);
    p->data = NULL;
    int rc = PGB_OK;
    if (!p->etag[0]) {
        char operation[48];
        snprintf(operation, sizeof(operation), "UploadPart %d", p->number);
        if (p->rc == 0 && p->reply.status == 200) {
            pgb_error_set(w->b->ctx, PGB_EIO, "S3 %s of s3://%s/%s failed: %s", operation,
                          w->b->session.config->bucket, w->object, p->reply.error);
            rc = PGB_EIO;
        } else {
            rc = s3_fail(w->b, p->rc, &p->reply, operation, w->object);
        }
        w->failed = 1;
    }
    s3_reply_free(&p->reply);
    return rc;
}

static int create_upload(struct s3_writer *w)
{
    struct s3_backend *b = w->b;
    struct pgb_sigv4_header headers[8];
    size_t count = 0;
    char retain[40];
    s3_object_headers(b->session.config, headers, 8, &count, retain, sizeof(retain));
    struct pgb_sigv4_pair query[] = {{"uploads", NULL}};
    struct s3_call call = {.method = "POST", .object = w->object, .query = query, .query_count = 1,
                           .headers = headers, .header_count = count};
    struct s3_reply reply;
    int rc = s3_backend_send(b, &call, &reply);
    if (rc == 0 && reply.status == 200) {
        struct s3_xml_span body = {reply.body ? reply.body : "", reply.body_size};
        w->upload_id = s3_xml_text(body, "UploadId");
        rc = w->upload_id ? PGB_OK
                          : pgb_error_set(b->ctx, PGB_EIO, "S3 CreateMultipartUpload of s3://%s/%s: no UploadId in "
                                          "the answer", b->session.config->bucket, w->object);
    } else {
        rc = s3_fail(b, rc, &reply, "CreateMultipartUpload", w->object);
    }
    s3_reply_free(&reply);
    return rc;
}

/* Hand the full buffer to a part thread, keeping at most upload_parallel threads running. */
static int send_part(struct s3_writer *w)
{
    struct s3_backend *b = w->b;
    int rc = w->upload_id ? PGB_OK : create_upload(w);
    if (rc != PGB_OK)
        return rc;
    int running = 0;
    for (int i = 0; i < w->part_count; i++)
        running += w->parts[i]->running;
    for (int i = 0; i < w->part_count && running >= b->session.config->upload_parallel; i++)
        if (w->parts[i]->running) {
            rc = join_part(w, w->parts[i]);
            running--;
            if (rc != PGB_OK)
                return rc;
        }
    if (w->part_count == 10000)
        return pgb_error_set(b->ctx, PGB_EINVALID, "S3 object s3://%s/%s needs more than 10000 parts: raise "
                             "--s3-part-size", b->session.config->bucket, w->object);
    if (w->part_count == w->part_capacity) {
        int capacity = w->part_capacity ? w->part_capacity * 2 : 16;
        struct part **grown = realloc(w->parts, (size_t)capacity * sizeof(*grown));
        if (!grown)
            return pgb_error_nomem(b->ctx);
        w->parts = grown;
        w->part_capacity = capacity;
    }
    struct part *p = calloc(1, sizeof(*p));
    if (!p)
        return pgb_error_nomem(b->ctx);
    *p = (struct part){.w = w, .number = w->part_count + 1, .data = w->buffer, .size = w->used};
    w->parts[w->part_count++] = p;
    w->buffer = NULL; /* the part owns it now */
    w->used = 0;
    if (pthread_create(&p->thread, NULL, upload_part, p) != 0)
        return pgb_error_set(b->ctx, PGB_ERROR, "cannot start a thread to upload part %d of s3://%s/%s", p->number,
                             b->session.config->bucket, w->object);
    p->running = 1;
    return PGB_OK;
}

int s3_write(void *payload, void *stream, const void *data, size_t size)
{
    struct s3_backend *b = payload;
    struct s3_writer *w = stream;
    size_t part_size = b->session.config->part_size;
    const uint8_t *p = data;
    while (size > 0) {
        if (!w->buffer) {
            w->buffer = malloc(part_size);
            if (!w->buffer)
                return pgb_error_nomem(b->ctx);
        }
        size_t n = part_size - w->used < size ? part_size - w->used : size;
        memcpy(w->buffer + w->used, p, n);
        w->used += n;
        p += n;
        size -= n;
        /* A full buffer goes up only once more data shows it is not the last: a small object stays one PUT. */
        if (w->used == part_size && size > 0) {
            int rc = send_part(w);
            if (rc != PGB_OK)
                return rc;
        }
    }
    return PGB_OK;
}

static void abort_upload(struct s3_writer *w)
{
    for (int i = 0; i < w->part_count; i++)
        if (w->parts[i]->running) {
            pthread_join(w->parts[i]->thread, NULL);
            w->parts[i]->running = 0;
            free(w->parts[i]->data);
            w->parts[i]->data = NULL;
            s3_reply_free(&w->parts[i]->reply);
        }
    if (!w->upload_id)
        return;
    struct pgb_sigv4_pair query[] = {{"uploadId", w->upload_id}};
    struct s3_call call = {.method = "DELETE", .object = w->object, .query = query, .query_count = 1};
    struct s3_reply reply;
    int rc = s3_backend_send(w->b, &call, &reply);
    if (rc != 0 || (reply.status != 204 && reply.status != 200 && reply.status != 404))
        pgb_log(w->b->ctx, PGB_LOG_WARNING,
                "S3 AbortMultipartUpload of s3://%s/%s (upload %s) failed: %s; its parts stay invisible until a "
                "bucket lifecycle rule removes them", w->b->session.config->bucket, w->object, w->upload_id,
                rc == 0 ? reply.error : reply.error[0] ? reply.error : "no answer");
    s3_reply_free(&reply);
}

static void free_writer(struct s3_writer *w)
{
    for (int i = 0; i < w->part_count; i++) {
        free(w->parts[i]->data);
        free(w->parts[i]);
    }
    free(w->parts);
    free(w->upload_id);
    free(w->buffer);
    free(w->object);
    free(w);
}

void s3_abort(void *payload, void *stream)
{
    (void)payload;
    struct s3_writer *w = stream;
    abort_upload(w);
    free_writer(w);
}

/* The CompleteMultipartUpload document of every part, in order. */
static char *complete_document(struct s3_writer *w)
{
    size_t capacity = 64 + (size_t)w->part_count * 200;
    char *body = malloc(capacity);
    if (!body)
        return NULL;
    size_t n = (size_t)snprintf(body, capacity, "<CompleteMultipartUpload>");
    for (int i = 0; i < w->part_count; i++) {
        char *etag = s3_xml_escape(w->parts[i]->etag);
        if (!etag) {
            free(body);
            return NULL;
        }
        n += (size_t)snprintf(body + n, capacity - n, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                              w->parts[i]->number, etag);
        free(etag);
    }
    snprintf(body + n, capacity - n, "</CompleteMultipartUpload>");
    return body;
}

static int commit_single(struct s3_writer *w)
{
    struct s3_backend *b = w->b;
    struct pgb_sigv4_header headers[9];
    size_t count = 0;
    char retain[40], *md5 = NULL;
    s3_object_headers(b->session.config, headers, 8, &count, retain, sizeof(retain));
    if (needs_md5(b->session.config)) {
        if (md5_base64(w->buffer ? (const void *)w->buffer : "", w->used, &md5) != 0)
            return pgb_error_set(b->ctx, PGB_ERROR, "cannot compute MD5 of s3://%s/%s", b->session.config->bucket,
                                 w->object);
        headers[count++] = (struct pgb_sigv4_header){"Content-MD5", md5};
    }
    struct s3_call call = {.method = "PUT", .object = w->object, .headers = headers, .header_count = count,
                           .body = w->buffer, .body_size = w->used};
    int rc = w->flags & PGB_STORAGE_NO_OVERWRITE ? s3_create_only(b, w->object, &call)
                                                 : s3_commit_call(b, w->object, &call, "PUT");
    free(md5);
    return rc;
}

static int commit_multipart(struct s3_writer *w)
{
    struct s3_backend *b = w->b;
    int rc = PGB_OK;
    if (w->used > 0)
        rc = send_part(w);
    for (int i = 0; i < w->part_count; i++) {
        int part_rc = join_part(w, w->parts[i]);
        if (rc == PGB_OK)
            rc = part_rc;
    }
    if (rc != PGB_OK || w->failed)
        return rc != PGB_OK ? rc : PGB_EIO;
    char *document = complete_document(w);
    if (!document)
        return pgb_error_nomem(b->ctx);
    struct pgb_sigv4_pair query[] = {{"uploadId", w->upload_id}};
    struct pgb_sigv4_header headers[] = {{"Content-Type", "application/xml"}};
    struct s3_call call = {.method = "POST", .object = w->object, .query = query, .query_count = 1,
                           .headers = headers, .header_count = 1, .body = document, .body_size = strlen(document)};
    rc = w->flags & PGB_STORAGE_NO_OVERWRITE ? s3_create_only(b, w->object, &call)
                                             : s3_commit_call(b, w->object, &call, "CompleteMultipartUpload");
    free(document);
    if (rc == PGB_OK) {
        free(w->upload_id); /* completed: nothing to abort */
        w->upload_id = NULL;
    }
    return rc;
}

int s3_commit(void *payload, void *stream)
{
    (void)payload;
    struct s3_writer *w = stream;
    int rc = w->upload_id || w->part_count ? commit_multipart(w) : commit_single(w);
    if (rc != PGB_OK) {
        /* Keep the error of the commit: aborting is housekeeping. */
        abort_upload(w);
    }
    free_writer(w);
    return rc;
}
