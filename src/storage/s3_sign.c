/*
 * AWS Signature Version 4. Everything that reaches the signature is built
 * here from the same strings the request sends, so a request cannot be
 * signed differently from how it goes out.
 */
#include "storage/s3_sign.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/hex.h"

/* A growing string; a failed allocation poisons it (data NULL) and later appends do nothing. */
struct text {
    char *data;
    size_t length, capacity;
    int failed;
};

static void text_append(struct text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->length + n + 1 > t->capacity) {
        size_t capacity = t->capacity ? t->capacity * 2 : 256;
        while (capacity < t->length + n + 1)
            capacity *= 2;
        char *grown = realloc(t->data, capacity);
        if (!grown) {
            free(t->data);
            *t = (struct text){.failed = 1};
            return;
        }
        t->data = grown;
        t->capacity = capacity;
    }
    memcpy(t->data + t->length, s, n);
    t->length += n;
    t->data[t->length] = '\0';
}

static void text_add(struct text *t, const char *s)
{
    text_append(t, s, strlen(s));
}

static int is_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

char *pgb_sigv4_uri_encode(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_unreserved(*p) || (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

struct encoded_pair {
    char *name, *value;
};

static int compare_pairs(const void *a, const void *b)
{
    const struct encoded_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

char *pgb_sigv4_query(const struct pgb_sigv4_pair *pairs, size_t count)
{
    struct encoded_pair *encoded = calloc(count ? count : 1, sizeof(*encoded));
    if (!encoded)
        return NULL;
    int ok = 1;
    for (size_t i = 0; i < count && ok; i++) {
        encoded[i].name = pgb_sigv4_uri_encode(pairs[i].name, 0);
        encoded[i].value = pgb_sigv4_uri_encode(pairs[i].value ? pairs[i].value : "", 0);
        ok = encoded[i].name && encoded[i].value;
    }
    struct text t = {0};
    if (ok) {
        qsort(encoded, count, sizeof(*encoded), compare_pairs);
        text_add(&t, "");
        for (size_t i = 0; i < count; i++) {
            if (i)
                text_add(&t, "&");
            text_add(&t, encoded[i].name);
            text_add(&t, "=");
            text_add(&t, encoded[i].value);
        }
    }
    for (size_t i = 0; i < count; i++) {
        free(encoded[i].name);
        free(encoded[i].value);
    }
    free(encoded);
    return ok ? t.data : NULL;
}

int pgb_sigv4_sha256_hex(const void *data, size_t size, char out[65])
{
    uint8_t digest[32];
    unsigned int length = 0;
    if (EVP_Digest(data, size, digest, &length, EVP_sha256(), NULL) != 1 || length != 32)
        return -1;
    pgb_hex_encode(digest, 32, out);
    return 0;
}

void pgb_sigv4_amz_date(long long unix_time, char out[17])
{
    time_t t = (time_t)unix_time;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

struct canonical_header {
    char *name;  /* lower case */
    char *value; /* trimmed, inner runs of white space folded to one space */
    size_t order;
};

static int compare_headers(const void *a, const void *b)
{
    const struct canonical_header *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* "Trimall": what botocore does with ' '.join(value.split()). */
static char *trim_all(const char *value)
{
    char *out = malloc(strlen(value) + 1);
    if (!out)
        return NULL;
    char *o = out;
    int pending_space = 0;
    for (const char *p = value; *p; p++) {
        if (isspace((unsigned char)*p)) {
            pending_space = o != out;
            continue;
        }
        if (pending_space)
            *o++ = ' ';
        pending_space = 0;
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

static int hmac(const uint8_t *key, size_t key_length, const char *message, uint8_t out[32])
{
    unsigned int length = 0;
    return HMAC(EVP_sha256(), key, (int)key_length, (const uint8_t *)message, strlen(message), out, &length) &&
                   length == 32
               ? 0
               : -1;
}

int pgb_sigv4_sign(const struct pgb_sigv4_input *in, struct pgb_sigv4_output *out)
{
    *out = (struct pgb_sigv4_output){0};
    int rc = -1;
    struct canonical_header *headers = calloc(in->header_count ? in->header_count : 1, sizeof(*headers));
    struct text request = {0}, signed_names = {0}, to_sign = {0}, authorization = {0};
    char *secret = NULL;
    if (!headers)
        return -1;
    for (size_t i = 0; i < in->header_count; i++) {
        headers[i].name = strdup(in->headers[i].name);
        headers[i].value = trim_all(in->headers[i].value ? in->headers[i].value : "");
        headers[i].order = i;
        if (!headers[i].name || !headers[i].value)
            goto done;
        for (char *c = headers[i].name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    qsort(headers, in->header_count, sizeof(*headers), compare_headers);

    /* Method, URI, query, headers (one line per name, repeated names joined by ','), names, payload. */
    text_add(&request, in->method);
    text_add(&request, "\n");
    text_add(&request, in->canonical_uri);
    text_add(&request, "\n");
    text_add(&request, in->canonical_query ? in->canonical_query : "");
    text_add(&request, "\n");
    text_add(&signed_names, "");
    for (size_t i = 0; i < in->header_count; i++) {
        int repeated = i > 0 && strcmp(headers[i].name, headers[i - 1].name) == 0;
        if (repeated && !request.failed) {
            request.length--; /* drop the newline: the value continues the line */
            text_add(&request, ",");
        } else {
            if (signed_names.length)
                text_add(&signed_names, ";");
            text_add(&signed_names, headers[i].name);
            text_add(&request, headers[i].name);
            text_add(&request, ":");
        }
        text_add(&request, headers[i].value);
        text_add(&request, "\n");
    }
    text_add(&request, "\n");
    text_add(&request, signed_names.data ? signed_names.data : "");
    text_add(&request, "\n");
    text_add(&request, in->payload_hash);
    if (request.failed || signed_names.failed)
        goto done;

    char request_hash[65];
    if (pgb_sigv4_sha256_hex(request.data, request.length, request_hash) != 0)
        goto done;
    char date[9];
    snprintf(date, sizeof(date), "%.8s", in->amz_date);
    text_add(&to_sign, "AWS4-HMAC-SHA256\n");
    text_add(&to_sign, in->amz_date);
    text_add(&to_sign, "\n");
    text_add(&to_sign, date);
    text_add(&to_sign, "/");
    text_add(&to_sign, in->region);
    text_add(&to_sign, "/");
    text_add(&to_sign, in->service);
    text_add(&to_sign, "/aws4_request\n");
    text_add(&to_sign, request_hash);
    if (to_sign.failed)
        goto done;

    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
    size_t secret_length = strlen(in->secret_key) + 4;
    secret = malloc(secret_length + 1);
    if (!secret)
        goto done;
    snprintf(secret, secret_length + 1, "AWS4%s", in->secret_key);
    uint8_t key[32], signature[32];
    if (hmac((const uint8_t *)secret, secret_length, date, key) != 0 || hmac(key, 32, in->region, key) != 0 ||
        hmac(key, 32, in->service, key) != 0 || hmac(key, 32, "aws4_request", key) != 0 ||
        hmac(key, 32, to_sign.data, signature) != 0)
        goto done;
    OPENSSL_cleanse(key, sizeof(key));
    pgb_hex_encode(signature, 32, out->signature);

    text_add(&authorization, "AWS4-HMAC-SHA256 Credential=");
    text_add(&authorization, in->access_key);
    text_add(&authorization, "/");
    text_add(&authorization, date);
    text_add(&authorization, "/");
    text_add(&authorization, in->region);
    text_add(&authorization, "/");
    text_add(&authorization, in->service);
    text_add(&authorization, "/aws4_request, SignedHeaders=");
    text_add(&authorization, signed_names.data);
    text_add(&authorization, ", Signature=");
    text_add(&authorization, out->signature);
    if (authorization.failed)
        goto done;
    out->canonical_request = request.data;
    out->string_to_sign = to_sign.data;
    out->authorization = authorization.data;
    request.data = to_sign.data = authorization.data = NULL;
    rc = 0;
done:
    if (secret) {
        OPENSSL_cleanse(secret, strlen(secret));
        free(secret);
    }
    for (size_t i = 0; i < in->header_count; i++) {
        free(headers[i].name);
        free(headers[i].value);
    }
    free(headers);
    free(request.data);
    free(signed_names.data);
    free(to_sign.data);
    free(authorization.data);
    return rc;
}

void pgb_sigv4_output_free(struct pgb_sigv4_output *out)
{
    free(out->canonical_request);
    free(out->string_to_sign);
    free(out->authorization);
    *out = (struct pgb_sigv4_output){0};
}
