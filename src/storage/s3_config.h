/*
 * What an S3 storage needs to know: where (bucket, prefix, endpoint,
 * addressing), who (credentials) and how (TLS, headers of written objects,
 * part size, timeouts). Read once from the URL, the options and the
 * environment; shared read-only by every handle reopened from it.
 */
#ifndef PGB_STORAGE_S3_CONFIG_H
#define PGB_STORAGE_S3_CONFIG_H

#include <stdatomic.h>
#include <stddef.h>

#include <pgbackup/options.h>

struct s3_config {
    atomic_int references;
    char *url;           /* s3://bucket/prefix, for messages */
    char *bucket;
    char *prefix;        /* "" or "a/b/": prepended to every key */
    char *scheme;        /* "https" or "http" */
    char *host;          /* the endpoint's host, with ":port" when one was given and is not the default */
    int path_style;      /* /bucket/key on the endpoint rather than bucket.endpoint/key */
    char *region;
    char *access_key;
    char *secret_key;    /* never logged; wiped on free */
    char *session_token; /* NULL when none */
    char *ca_file;       /* NULL: the system's CA bundle */
    int verify_tls;
    char *storage_class; /* NULL: the bucket's default */
    char *sse;           /* NULL, "AES256" or "aws:kms" */
    char *sse_kms_key_id;
    char *object_lock_mode; /* NULL, "GOVERNANCE" or "COMPLIANCE" */
    int object_lock_days;
    size_t part_size;
    int upload_parallel;
    int timeout_seconds;   /* one storage operation, retries included */
    int conditional_write; /* -1 auto (probe the server), 0 lease, 1 If-None-Match */
};

/* Parse url (s3://bucket[/prefix]) and opts (NULL for defaults); errors go to ctx. */
int s3_config_new(pgb_ctx *ctx, const char *url, const pgb_options *opts, struct s3_config **out);

/* Another owner of config; returns config. */
struct s3_config *s3_config_ref(struct s3_config *config);

/* Drop one owner; the last frees (NULL is allowed). */
void s3_config_unref(struct s3_config *config);

/* The object key in the bucket for a storage key: prefix + key. malloc'd. */
char *s3_config_object_key(const struct s3_config *config, const char *key);

#endif
