/*
 * Reading an S3 object as a stream: one GET (with a Range for partial
 * reads) driven through a curl multi handle, paused whenever our buffer is
 * full, so memory stays at the buffer's size whatever the object's. A
 * transfer that breaks is resumed from the next byte with If-Match on the
 * ETag, so a changed object is an error rather than a mix of two versions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "storage/s3_backend.h"

#define READ_BUFFER_SIZE (256u << 10)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_reader {
    struct s3_backend *b;
    char *object;
    uint64_t position; /* the next byte the caller gets */
    uint64_t end;      /* UINT64_MAX: to the end of the object */
    CURL *easy;
    CURLM *multi;
    struct curl_slist *headers;
    char *query;
    char *url;
    char etag[130];
    char header_etag[130];
    uint64_t transfer_start; /* the first byte the current transfer asked for */
    long status;
    int status_known, paused, done, in_multi, attempts;
    CURLcode result;
    uint8_t *buffer;
    size_t start, used; /* buffered bytes: buffer[start, start + used) */
    struct s3_reply error;
};

static size_t on_header(char *line, size_t size, size_t count, void *payload)
{
    struct s3_reader *r = payload;
    size_t n = size * count;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        r->status_known = 0;
        r->header_etag[0] = '\0';
    } else if (n > 5 && strncasecmp(line, "ETag:", 5) == 0) {
        const char *v = line + 5, *end = line + n;
        while (v < end && *v == ' ')
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        snprintf(r->header_etag, sizeof(r->header_etag), "%.*s", (int)(end - v), v);
    } else if ((n == 2 && line[0] == '\r') || (n == 1 && line[0] == '\n')) {
        long status = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200) { /* not 100 Continue */
            r->status = status;
            r->status_known = 1;
            if (!r->etag[0] && status / 100 == 2)
                snprintf(r->etag, sizeof(r->etag), "%s", r->header_etag);
        }
    }
    return n;
}

static size_t on_data(char *data, size_t size, size_t count, void *payload)
{
    struct s3_reader *r = payload;
    size_t n = size * count;
    if (r->status / 100 != 2) { /* an error document: keep its start */
        if (r->error.body_size + n <= 65536) {
            char *grown = realloc(r->error.body, r->error.body_size + n + 1);
            if (!grown)
                return 0;
            memcpy(grown + r->error.body_size, data, n);
            r->error.body = grown;
            r->error.body_size += n;
            grown[r->error.body_size] = '\0';
        }
        return n;
    }
    if (READ_BUFFER_SIZE - r->start - r->used < n && r->start > 0) {
        memmove(r->buffer, r->buffer + r->start, r->used);
        r->start = 0;
    }
    if (READ_BUFFER_SIZE - r->used < n) {
        r->paused = 1; /* curl keeps these bytes and gives them again after we unpause */
        return CURL_WRITEFUNC_PAUSE;
    }
    memcpy(r->buffer + r->start + r->used, data, n);
    r->used += n;
    return n;
}

static void stop_transfer(struct s3_reader *r)
{
    if (r->in_multi)
        curl_multi_remove_handle(r->multi, r->easy);
    r->in_multi = 0;
    curl_slist_free_all(r->headers);
    r->headers = NULL;
    free(r->query);
    free(r->url);
    r->query = r->url = NULL;
}

/* Ask for the bytes from position + used on (the buffered ones are kept). */
static int start_transfer(struct s3_reader *r)
{
    stop_transfer(r);
    struct s3_backend *b = r->b;
    uint64_t from = r->position + r->used;
    char range[80] = "";
    if (from > 0 || r->end != UINT64_MAX) {
        if (r->end != UINT64_MAX)
            snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)from,
                     (unsigned long long)(r->end - 1));
        else
            snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)from);
    }
    struct pgb_sigv4_header headers[2];
    size_t count = 0;
    if (range[0])
        headers[count++] = (struct pgb_sigv4_header){"Range", range};
    if (r->etag[0])
        headers[count++] = (struct pgb_sigv4_header){"If-Match", r->etag};
    struct s3_call call = {.method = "GET", .object = r->object, .headers = headers, .header_count = count};
    if (s3_signed_headers(b->session.config, &call, EMPTY_SHA256, &r->headers, &r->query) != 0 ||
        !(r->url = s3_url(b->session.config, r->object, r->query)))
        return pgb_error_nomem(b->ctx);
    curl_easy_reset(r->easy);
    curl_easy_setopt(r->easy, CURLOPT_SHARE, b->session.share);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    long connect_seconds = b->session.config->timeout_seconds < 10 ? b->session.config->timeout_seconds : 10;
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT, connect_seconds);
    /* No total timeout: a paused transfer waits for the caller. Stalls are caught by the low speed limit. */
    curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_TIME, 30L);
    if (b->session.config->ca_file)
        curl_easy_setopt(r->easy, CURLOPT_CAINFO, b->session.config->ca_file);
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, b->session.config->verify_tls ? 1L : 0L);
    curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, b->session.config->verify_tls ? 2L : 0L);
    curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    r->transfer_start = from;
    r->status = 0;
    r->status_known = r->paused = r->done = 0;
    r->result = CURLE_OK;
    s3_reply_free(&r->error);
    r->attempts++;
    if (curl_multi_add_handle(r->multi, r->easy) != CURLM_OK)
        return pgb_error_set(b->ctx, PGB_ERROR, "cannot start an S3 transfer (curl_multi_add_handle)");
    r->in_multi = 1;
    return PGB_OK;
}

/* Drive the transfer until until() holds or it ends; no progress for the storage timeout fails. */
static int pump(struct s3_reader *r, int (*until)(const struct s3_reader *r))
{
    struct s3_backend *b = r->b;
    double deadline = s3_now() + b->session.config->timeout_seconds;
    size_t before = r->used;
    while (!until(r) && !r->done) {
        if (atomic_load(b->session.canceled))
            return pgb_error_set(b->ctx, PGB_ECANCELED, "S3 GET of s3://%s/%s canceled",
                                 b->session.config->bucket, r->object);
        if (r->paused && r->used < READ_BUFFER_SIZE / 2) {
            r->paused = 0;
            curl_easy_pause(r->easy, CURLPAUSE_CONT); /* may deliver the held bytes at once */
            continue;
        }
        int running = 0;
        curl_multi_perform(r->multi, &running);
        CURLMsg *message;
        int left;
        while ((message = curl_multi_info_read(r->multi, &left)))
            if (message->msg == CURLMSG_DONE) {
                r->done = 1;
                r->result = message->data.result;
            }
        if (r->used != before) {
            before = r->used;
            deadline = s3_now() + b->session.config->timeout_seconds;
        }
        if (until(r) || r->done)
            break;
        if (s3_now() > deadline)
            return pgb_error_set(b->ctx, PGB_ECONNECTION,
                                 "S3 GET of s3://%s/%s: no data for %d s (storage-timeout) from %s://%s",
                                 b->session.config->bucket, r->object, b->session.config->timeout_seconds,
                                 b->session.config->scheme, b->session.config->host);
        curl_multi_poll(r->multi, NULL, 0, 200, NULL);
    }
    return PGB_OK;
}

static int status_or_done(const struct s3_reader *r)
{
    return r->status_known && r->status / 100 == 2;
}

static int has_data(const struct s3_reader *r)
{
    return r->used > 0;
}

/*
 * The transfer ended or failed to start well: decide between the end of the
 * object, another attempt (after a backoff, within the timeout) and an error.
 * Returns PGB_OK with *again set to restart, or a recorded error.
 */
static int judge(struct s3_reader *r, double retry_deadline, int *again)
{
    struct s3_backend *b = r->b;
    const struct s3_config *c = b->session.config;
    *again = 0;
    if (r->result == CURLE_OK && r->status_known && r->status / 100 == 2) {
        if (r->transfer_start > 0 && r->status == 200)
            return pgb_error_set(b->ctx, PGB_EIO, "S3 GET of s3://%s/%s: the server ignored the Range header",
                                 c->bucket, r->object);
        return PGB_OK; /* the end */
    }
    if (r->result == CURLE_OK && r->status == 416)
        return PGB_OK; /* from past the end: nothing to read */
    if (r->result == CURLE_OK && r->status == 412 && r->etag[0])
        return pgb_error_set(b->ctx, PGB_ECORRUPT, "S3 object s3://%s/%s changed while it was read (ETag %s)",
                             c->bucket, r->object, r->etag);
    struct s3_reply reply = r->error;
    reply.status = r->result == CURLE_OK ? r->status : 0;
    int retryable;
    if (r->result != CURLE_OK) {
        snprintf(reply.error, sizeof(reply.error), "%s (after %d attempt%s)", curl_easy_strerror(r->result),
                 r->attempts, r->attempts == 1 ? "" : "s");
        retryable = s3_curl_is_retryable(r->result);
    } else {
        s3_reply_describe(&reply);
        retryable = s3_status_is_retryable(reply.status, reply.error_code);
    }
    if (retryable && s3_now() < retry_deadline) {
        s3_backoff(r->attempts, retry_deadline);
        *again = 1;
        return PGB_OK;
    }
    if (reply.status == 404)
        return PGB_ENOTFOUND;
    return s3_fail(b, r->result == CURLE_OK ? 0 : -1, &reply, "GET", r->object);
}

void s3_close_read(void *payload, void *stream)
{
    (void)payload;
    struct s3_reader *r = stream;
    stop_transfer(r);
    if (r->multi)
        curl_multi_cleanup(r->multi);
    if (r->easy)
        curl_easy_cleanup(r->easy);
    s3_reply_free(&r->error);
    free(r->buffer);
    free(r->object);
    free(r);
}

/* Start (or restart) and wait for a good status, retrying what deserves it. */
static int connect_transfer(struct s3_reader *r)
{
    double retry_deadline = s3_now() + r->b->session.config->timeout_seconds;
    for (;;) {
        int rc = start_transfer(r);
        if (rc == PGB_OK)
            rc = pump(r, status_or_done);
        if (rc != PGB_OK)
            return rc;
        if (status_or_done(r))
            return PGB_OK;
        int again;
        rc = judge(r, retry_deadline, &again);
        if (rc != PGB_OK || !again)
            return rc;
    }
}

int s3_open_read(void *payload, const char *key, uint64_t offset, uint64_t length, void **stream)
{
    struct s3_backend *b = payload;
    if (s3_backend_own(b) != PGB_OK)
        return PGB_ENOMEM;
    struct s3_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return pgb_error_nomem(b->ctx);
    r->b = b;
    r->position = offset;
    r->end = length ? offset + length : UINT64_MAX;
    r->object = s3_config_object_key(b->session.config, key);
    r->buffer = malloc(READ_BUFFER_SIZE);
    r->easy = curl_easy_init();
    r->multi = curl_multi_init();
    int rc = r->object && r->buffer && r->easy && r->multi ? connect_transfer(r) : pgb_error_nomem(b->ctx);
    if (rc != PGB_OK) {
        s3_close_read(payload, r);
        return rc;
    }
    *stream = r;
    return PGB_OK;
}

int s3_read(void *payload, void *stream, void *buffer, size_t size, size_t *got)
{
    (void)payload;
    struct s3_reader *r = stream;
    *got = 0;
    if (r->position >= r->end)
        return PGB_OK;
    while (r->used == 0) {
        if (r->done) {
            int again;
            int rc = judge(r, s3_now() + r->b->session.config->timeout_seconds, &again);
            if (rc != PGB_OK)
                return rc;
            if (!again)
                return PGB_OK; /* the end of the object */
            /* Resume where the broken transfer stopped, only if it is still the same object. */
            rc = connect_transfer(r);
            if (rc != PGB_OK)
                return rc == PGB_ENOTFOUND ? pgb_error_set(r->b->ctx, PGB_ECORRUPT,
                                                           "S3 object s3://%s/%s disappeared while it was read",
                                                           r->b->session.config->bucket, r->object)
                                           : rc;
            continue;
        }
        int rc = pump(r, has_data);
        if (rc != PGB_OK)
            return rc;
    }
    size_t n = size < r->used ? size : r->used;
    if ((uint64_t)n > r->end - r->position)
        n = (size_t)(r->end - r->position);
    memcpy(buffer, r->buffer + r->start, n);
    r->start += n;
    r->used -= n;
    if (r->used == 0)
        r->start = 0;
    r->position += n;
    *got = n;
    return PGB_OK;
}
