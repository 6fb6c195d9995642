/*
 * One S3 request over libcurl: URL and signature built from the same strings,
 * retries with exponential backoff and full jitter on 5xx, 429, SlowDown,
 * timeouts and broken connections, all within one deadline so that nothing
 * hangs. Functions here never touch a pgb_ctx: part uploads run them on
 * worker threads, so failures are described in the reply and the calling
 * thread records them.
 */
#ifndef PGB_STORAGE_S3_REQUEST_H
#define PGB_STORAGE_S3_REQUEST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "storage/s3_config.h"
#include "storage/s3_sign.h"

struct s3_call {
    const char *method;
    const char *object;                     /* object key in the bucket (prefix included), NULL for the bucket */
    const struct pgb_sigv4_pair *query;     /* raw; may be NULL */
    size_t query_count;
    const struct pgb_sigv4_header *headers; /* besides Host, x-amz-date, x-amz-content-sha256, token */
    size_t header_count;
    const void *body;
    size_t body_size;
    const char *payload_hash; /* hex SHA-256 of body, or NULL to compute it */
};

struct s3_reply {
    long status;        /* 0: no HTTP answer */
    char *body;         /* malloc'd, NUL-terminated; at most 4 MiB are kept */
    size_t body_size;
    char etag[130];     /* ETag header, quotes included */
    char date[64];      /* Date header */
    uint64_t content_length;
    int attempts;
    char error[512];    /* why there is no final answer, or the S3 error's code and message */
    char error_code[64]; /* S3's <Code>, "" when none */
};

/* Shared by the requests of one storage handle; owned by it. */
struct s3_session {
    struct s3_config *config;
    atomic_int *canceled; /* the context's cancel flag, read from any thread */
    CURLSH *share;        /* connections, DNS and TLS sessions, shared by this handle's easy handles */
    void *share_locks;
};

/* Process-wide libcurl initialisation, once; returns 0 or -1. */
int s3_curl_init(void);

int s3_session_open(struct s3_session *session, struct s3_config *config, atomic_int *canceled);
void s3_session_close(struct s3_session *session);

/* A new easy handle with the session's TLS settings and shared caches; NULL when out of memory. */
CURL *s3_easy_new(struct s3_session *session);

/* The full URL of an object (or bucket) with its query; malloc'd. */
char *s3_url(const struct s3_config *config, const char *object, const char *query);

/*
 * Build the signed header list of a call (for curl) into *list.
 * Returns 0 or -1 when out of memory.
 */
int s3_signed_headers(const struct s3_config *config, const struct s3_call *call, const char *payload_hash,
                      struct curl_slist **list, char **query_out);

/*
 * Send call until S3 gives a final answer or the deadline (seconds from now)
 * passes. Returns 0 with reply->status set for every final answer, success
 * or not (the caller judges it); -1 when no final answer came (reply->error
 * says why) or when canceled (-2). Free the reply with s3_reply_free.
 */
int s3_send(struct s3_session *session, CURL *curl, const struct s3_call *call, struct s3_reply *reply);

void s3_reply_free(struct s3_reply *reply);

/* Whether a final answer or a curl failure is worth another attempt. */
int s3_status_is_retryable(long status, const char *error_code);
int s3_curl_is_retryable(CURLcode code);

/* Sleep before attempt (1 = the first retry): full jitter over an exponential range, capped, never past deadline. */
void s3_backoff(int attempt, double deadline);

/* Seconds on a monotonic clock. */
double s3_now(void);

/* Fill reply->error and error_code from an S3 <Error> body and the status. */
void s3_reply_describe(struct s3_reply *reply);

#endif
