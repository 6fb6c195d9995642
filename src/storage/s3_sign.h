/*
 * AWS Signature Version 4 for S3 requests, computed with OpenSSL.
 * Follows "Authenticating Requests (AWS Signature Version 4)" of the Amazon S3
 * API reference: canonical request, string to sign, signing key, signature.
 */
#ifndef PGB_STORAGE_S3_SIGN_H
#define PGB_STORAGE_S3_SIGN_H

#include <stddef.h>

struct pgb_sigv4_header {
    const char *name;  /* any case; the signer lower-cases it */
    const char *value; /* as sent; the signer trims it and folds runs of spaces */
};

struct pgb_sigv4_pair {
    const char *name;  /* raw, not encoded */
    const char *value; /* raw; NULL or "" for a parameter without value ("?uploads") */
};

struct pgb_sigv4_input {
    const char *method;
    const char *canonical_uri;   /* already encoded with pgb_sigv4_uri_encode ("/bucket/a%20b") */
    const char *canonical_query; /* from pgb_sigv4_query, "" when none */
    const struct pgb_sigv4_header *headers; /* every header to sign, host and x-amz-date included */
    size_t header_count;
    const char *payload_hash; /* lower-case hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
    const char *amz_date;     /* YYYYMMDDTHHMMSSZ, the x-amz-date header's value */
    const char *region;
    const char *service;      /* "s3" */
    const char *access_key;
    const char *secret_key;
};

struct pgb_sigv4_output {
    char *canonical_request; /* malloc'd; for tests and debugging */
    char *string_to_sign;    /* malloc'd */
    char *authorization;     /* malloc'd: the Authorization header's value */
    char signature[65];
};

/* Sign; returns 0, or -1 when out of memory or OpenSSL failed. Free out with pgb_sigv4_output_free. */
int pgb_sigv4_sign(const struct pgb_sigv4_input *in, struct pgb_sigv4_output *out);

void pgb_sigv4_output_free(struct pgb_sigv4_output *out);

/*
 * Percent-encode s as SigV4 wants (RFC 3986 unreserved characters kept,
 * upper-case hex), keeping '/' when keep_slash. malloc'd; NULL when out of memory.
 */
char *pgb_sigv4_uri_encode(const char *s, int keep_slash);

/*
 * The canonical query string of count raw pairs: each name and value encoded,
 * sorted by name then value, "name=value" joined by '&'. The same text serves
 * as the URL's query, so what is signed is what is sent. malloc'd.
 */
char *pgb_sigv4_query(const struct pgb_sigv4_pair *pairs, size_t count);

/* Lower-case hex SHA-256 of data into out[65]; returns 0 or -1. */
int pgb_sigv4_sha256_hex(const void *data, size_t size, char out[65]);

/* The x-amz-date form of a Unix time into out[17]. */
void pgb_sigv4_amz_date(long long unix_time, char out[17]);

#endif
