/*
 * S3 requests over libcurl with retries. Each attempt is signed afresh (the
 * signature covers the time), and each gets only the time left before the
 * operation's deadline, so a server that stops answering ends in a clear
 * error rather than a hang: an archive_command that never returns stalls
 * PostgreSQL.
 */
#include "storage/s3_request.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include <pgbackup/version.h>

#include "core/text.h"
#include "storage/s3_xml.h"

#define REPLY_BODY_LIMIT (4u << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    /* libcurl's global set-up is not thread-safe before 7.84: done once, guarded by pthread_once. */
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int s3_curl_init(void)
{
    pthread_once(&curl_once, curl_init_once);
    return curl_init_result == CURLE_OK ? 0 : -1;
}

double s3_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the session: shared caches of one storage handle ---- */

struct share_locks {
    pthread_mutex_t mutex[CURL_LOCK_DATA_LAST];
};

static void share_lock(CURL *curl, curl_lock_data data, curl_lock_access access, void *payload)
{
    (void)curl, (void)access;
    pthread_mutex_lock(&((struct share_locks *)payload)->mutex[data]);
}

static void share_unlock(CURL *curl, curl_lock_data data, void *payload)
{
    (void)curl;
    pthread_mutex_unlock(&((struct share_locks *)payload)->mutex[data]);
}

int s3_session_open(struct s3_session *session, struct s3_config *config, atomic_int *canceled)
{
    *session = (struct s3_session){0};
    struct share_locks *locks = calloc(1, sizeof(*locks));
    CURLSH *share = curl_share_init();
    if (!locks || !share) {
        free(locks);
        if (share)
            curl_share_cleanup(share);
        return -1;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&locks->mutex[i], NULL);
    /* Part uploads run on threads: the share is locked around every use. */
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(share, CURLSHOPT_USERDATA, locks);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    session->config = s3_config_ref(config);
    session->canceled = canceled;
    session->share = share;
    session->share_locks = locks;
    return 0;
}

void s3_session_close(struct s3_session *session)
{
    if (session->share)
        curl_share_cleanup(session->share);
    struct share_locks *locks = session->share_locks;
    if (locks) {
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&locks->mutex[i]);
        free(locks);
    }
    s3_config_unref(session->config);
    *session = (struct s3_session){0};
}

static void configure(struct s3_session *session, CURL *curl)
{
    const struct s3_config *c = session->config;
    curl_easy_setopt(curl, CURLOPT_SHARE, session->share);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "libpgbackup/" PGB_VERSION_STRING);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    long connect_seconds = c->timeout_seconds < 10 ? c->timeout_seconds : 10;
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, connect_seconds);
    /* A transfer that moves nothing for 30 s is broken: end it and try again. */
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, c->timeout_seconds < 30 ? (long)c->timeout_seconds : 30L);
    if (c->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, c->verify_tls ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, c->verify_tls ? 2L : 0L);
}

CURL *s3_easy_new(struct s3_session *session)
{
    CURL *curl = curl_easy_init();
    if (curl)
        configure(session, curl);
    return curl;
}

/* ---- URLs and signatures ---- */

/* The request path: /bucket/key (path style) or /key (virtual-hosted), encoded. */
static char *request_path(const struct s3_config *c, const char *object)
{
    char *raw = c->path_style ? pgb_text_printf("/%s%s%s", c->bucket, object ? "/" : "", object ? object : "")
                              : pgb_text_printf("/%s", object ? object : "");
    char *encoded = raw ? pgb_sigv4_uri_encode(raw, 1) : NULL;
    free(raw);
    return encoded;
}

static char *request_host(const struct s3_config *c)
{
    return c->path_style ? pgb_text_dup(c->host) : pgb_text_printf("%s.%s", c->bucket, c->host);
}

char *s3_url(const struct s3_config *c, const char *object, const char *query)
{
    char *path = request_path(c, object), *host = request_host(c);
    char *url = path && host ? pgb_text_printf("%s://%s%s%s%s", c->scheme, host, path, query && *query ? "?" : "",
                                               query ? query : "")
                             : NULL;
    free(path);
    free(host);
    return url;
}

int s3_signed_headers(const struct s3_config *c, const struct s3_call *call, const char *payload_hash,
                      struct curl_slist **list, char **query_out)
{
    *list = NULL;
    *query_out = NULL;
    int rc = -1;
    char *query = pgb_sigv4_query(call->query, call->query_count);
    char *path = request_path(c, call->object), *host = request_host(c);
    size_t count = 0, capacity = call->header_count + 4;
    struct pgb_sigv4_header *headers = calloc(capacity, sizeof(*headers));
    struct pgb_sigv4_output signature = {0};
    char date[17];
    pgb_sigv4_amz_date((long long)time(NULL), date);
    if (!query || !path || !host || !headers)
        goto done;
    headers[count++] = (struct pgb_sigv4_header){"Host", host};
    headers[count++] = (struct pgb_sigv4_header){"x-amz-date", date};
    headers[count++] = (struct pgb_sigv4_header){"x-amz-content-sha256", payload_hash};
    if (c->session_token)
        headers[count++] = (struct pgb_sigv4_header){"x-amz-security-token", c->session_token};
    for (size_t i = 0; i < call->header_count; i++)
        headers[count++] = call->headers[i];
    struct pgb_sigv4_input in = {call->method, path, query, headers, count, payload_hash, date, c->region, "s3",
                                 c->access_key, c->secret_key};
    if (pgb_sigv4_sign(&in, &signature) != 0)
        goto done;
    struct curl_slist *l = NULL;
    int ok = 1, has_content_type = 0;
    for (size_t i = 0; i < count && ok; i++) {
        char *line = pgb_text_printf("%s: %s", headers[i].name, headers[i].value);
        struct curl_slist *grown = line ? curl_slist_append(l, line) : NULL;
        free(line);
        ok = grown != NULL;
        if (ok)
            l = grown;
        if (strcasecmp(headers[i].name, "Content-Type") == 0)
            has_content_type = 1;
    }
    char *authorization = pgb_text_printf("Authorization: %s", signature.authorization);
    const char *extra[] = {authorization, "Expect:", has_content_type ? NULL : "Content-Type:"};
    for (size_t i = 0; i < 3 && ok; i++) {
        if (!extra[i])
            continue;
        struct curl_slist *grown = curl_slist_append(l, extra[i]);
        ok = grown != NULL;
        if (ok)
            l = grown;
    }
    free(authorization);
    if (!ok) {
        curl_slist_free_all(l);
        goto done;
    }
    *list = l;
    *query_out = query;
    query = NULL;
    rc = 0;
done:
    pgb_sigv4_output_free(&signature);
    free(headers);
    free(query);
    free(path);
    free(host);
    return rc;
}

/* ---- one attempt ---- */

struct upload {
    const char *data;
    size_t size, position;
};

static size_t read_body(char *buffer, size_t size, size_t count, void *payload)
{
    struct upload *u = payload;
    size_t n = size * count, left = u->size - u->position;
    if (n > left)
        n = left;
    memcpy(buffer, u->data + u->position, n);
    u->position += n;
    return n;
}

static size_t write_body(char *data, size_t size, size_t count, void *payload)
{
    struct s3_reply *r = payload;
    size_t n = size * count;
    if (r->body_size + n > REPLY_BODY_LIMIT)
        return n; /* keep what fits: the start of an error or a listing says enough */
    char *grown = realloc(r->body, r->body_size + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + r->body_size, data, n);
    r->body = grown;
    r->body_size += n;
    r->body[r->body_size] = '\0';
    return n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t out_size)
{
    size_t name_length = strlen(name);
    if (n <= name_length || strncasecmp(line, name, name_length) != 0 || line[name_length] != ':')
        return;
    const char *v = line + name_length + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    snprintf(out, out_size, "%.*s", (int)(end - v), v);
}

static size_t read_header(char *line, size_t size, size_t count, void *payload)
{
    struct s3_reply *r = payload;
    size_t n = size * count;
    if (n > 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new response (after 100 Continue): forget the last */
        r->etag[0] = r->date[0] = '\0';
        r->content_length = 0;
    }
    header_value(line, n, "ETag", r->etag, sizeof(r->etag));
    header_value(line, n, "Date", r->date, sizeof(r->date));
    char length[32] = "";
    header_value(line, n, "Content-Length", length, sizeof(length));
    if (length[0])
        r->content_length = strtoull(length, NULL, 10);
    return n;
}

static int progress(void *payload, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    atomic_int *canceled = payload;
    return canceled && atomic_load(canceled) ? 1 : 0;
}

int s3_status_is_retryable(long status, const char *error_code)
{
    if (status == 500 || status == 502 || status == 503 || status == 504 || status == 429)
        return 1;
    /* S3 answers a client that was too slow to send with 400 RequestTimeout; a second try usually passes. */
    return error_code && (strcmp(error_code, "SlowDown") == 0 || strcmp(error_code, "RequestTimeout") == 0 ||
                          strcmp(error_code, "InternalError") == 0);
}

int s3_curl_is_retryable(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

void s3_backoff(int attempt, double deadline)
{
    double range = 0.1 * (double)(1u << (attempt < 10 ? attempt : 10));
    if (range > 10.0)
        range = 10.0;
    uint32_t random = 0;
    RAND_bytes((uint8_t *)&random, sizeof(random));
    double delay = range * ((double)random / 4294967296.0);
    double left = deadline - s3_now();
    if (delay > left)
        delay = left > 0 ? left : 0;
    struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
    nanosleep(&ts, NULL);
}

void s3_reply_describe(struct s3_reply *r)
{
    char *code = NULL, *message = NULL;
    if (r->body && r->body_size) {
        struct s3_xml_span body = {r->body, r->body_size}, error;
        if (s3_xml_next(body, NULL, "Error", &error)) {
            code = s3_xml_text(error, "Code");
            message = s3_xml_text(error, "Message");
        }
    }
    snprintf(r->error_code, sizeof(r->error_code), "%s", code ? code : "");
    snprintf(r->error, sizeof(r->error), "HTTP %ld%s%s%s%s", r->status, code ? " " : "", code ? code : "",
             message ? ": " : "", message ? message : "");
    free(code);
    free(message);
}

static void reset_reply(struct s3_reply *r)
{
    free(r->body);
    int attempts = r->attempts;
    *r = (struct s3_reply){0};
    r->attempts = attempts;
}

static CURLcode attempt(struct s3_session *session, CURL *curl, const struct s3_call *call, const char *payload_hash,
                        double deadline, struct s3_reply *reply)
{
    struct curl_slist *headers = NULL;
    char *query = NULL, *url = NULL;
    CURLcode code = CURLE_OUT_OF_MEMORY;
    if (s3_signed_headers(session->config, call, payload_hash, &headers, &query) != 0)
        goto done;
    url = s3_url(session->config, call->object, query);
    if (!url)
        goto done;
    curl_easy_reset(curl); /* keeps the connection; forgets the last request's options */
    configure(session, curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, reply);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, session->canceled);
    double left = deadline - s3_now();
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(left > 1.0 ? left * 1000 : 1000));
    struct upload body = {call->body, call->body_size, 0};
    if (strcmp(call->method, "PUT") == 0) {
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(curl, CURLOPT_READDATA, &body);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)call->body_size);
    } else if (strcmp(call->method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call->body ? call->body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_size);
    } else if (strcmp(call->method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp(call->method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call->method);
    }
    code = curl_easy_perform(curl);
    if (code == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
done:
    curl_slist_free_all(headers);
    free(query);
    free(url);
    return code;
}

int s3_send(struct s3_session *session, CURL *curl, const struct s3_call *call, struct s3_reply *reply)
{
    *reply = (struct s3_reply){0};
    char computed[65];
    const char *payload_hash = call->payload_hash;
    if (!payload_hash) {
        if (pgb_sigv4_sha256_hex(call->body ? call->body : "", call->body_size, computed) != 0) {
            snprintf(reply->error, sizeof(reply->error), "cannot compute SHA-256: OpenSSL failed");
            return -1;
        }
        payload_hash = computed;
    }
    double deadline = s3_now() + session->config->timeout_seconds;
    for (;;) {
        reset_reply(reply);
        reply->attempts++;
        if (session->canceled && atomic_load(session->canceled)) {
            snprintf(reply->error, sizeof(reply->error), "canceled");
            return -2;
        }
        CURLcode code = attempt(session, curl, call, payload_hash, deadline, reply);
        int again;
        if (code != CURLE_OK) {
            if (code == CURLE_ABORTED_BY_CALLBACK) {
                snprintf(reply->error, sizeof(reply->error), "canceled");
                return -2;
            }
            snprintf(reply->error, sizeof(reply->error), "%s (after %d attempt%s)", curl_easy_strerror(code),
                     reply->attempts, reply->attempts == 1 ? "" : "s");
            again = s3_curl_is_retryable(code);
        } else {
            s3_reply_describe(reply);
            again = s3_status_is_retryable(reply->status, reply->error_code);
        }
        if (!again || s3_now() + 0.05 >= deadline) {
            if (code == CURLE_OK)
                return 0;
            if (again)
                snprintf(reply->error + strlen(reply->error), sizeof(reply->error) - strlen(reply->error),
                         "; gave up after %d s (storage-timeout)", session->config->timeout_seconds);
            return -1;
        }
        s3_backoff(reply->attempts, deadline);
    }
}

void s3_reply_free(struct s3_reply *reply)
{
    free(reply->body);
    *reply = (struct s3_reply){0};
}
