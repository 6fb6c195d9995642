/*
 * S3 settings from the URL, the options and the environment. Credentials come
 * from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else
 * from a credentials file in AWS's format (s3-credentials-file, else
 * AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) under a profile
 * (s3-profile, else AWS_PROFILE, else "default"). No message ever shows the
 * secret key or the session token.
 */
#include "storage/s3_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/option_registry.h"
#include "core/text.h"
#include "storage/storage.h"

/* An option's value, or its registry default when opts is NULL or leaves it unset. */
static const char *option(const pgb_options *opts, const char *name)
{
    const char *value = NULL;
    if (opts && pgb_options_get(opts, name, &value) == PGB_OK && value)
        return value;
    const struct pgb_option_spec *spec = pgb_option_spec_find(name);
    return spec ? spec->default_value : NULL;
}

static int option_int(const pgb_options *opts, const char *name)
{
    const char *value = option(opts, name);
    return value ? atoi(value) : 0;
}

static void free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static void config_free(struct s3_config *c)
{
    free(c->url);
    free(c->bucket);
    free(c->prefix);
    free(c->scheme);
    free(c->host);
    free(c->region);
    free(c->access_key);
    free_secret(c->secret_key);
    free_secret(c->session_token);
    free(c->ca_file);
    free(c->storage_class);
    free(c->sse);
    free(c->sse_kms_key_id);
    free(c->object_lock_mode);
    free(c);
}

/* One "name = value" of a [profile] in an AWS credentials file; malloc'd or NULL. */
static char *credentials_value(FILE *f, const char *profile, const char *name)
{
    rewind(f);
    char line[4096];
    int in_profile = 0;
    while (fgets(line, sizeof(line), f)) {
        char *text = pgb_text_trim(line);
        if (text[0] == '#' || text[0] == ';' || !text[0])
            continue;
        if (text[0] == '[') {
            char *end = strchr(text, ']');
            if (end)
                *end = '\0';
            in_profile = strcmp(pgb_text_trim(text + 1), profile) == 0;
            continue;
        }
        char *equals = strchr(text, '=');
        if (!in_profile || !equals)
            continue;
        *equals = '\0';
        if (strcmp(pgb_text_trim(text), name) == 0) {
            char *value = pgb_text_dup(pgb_text_trim(equals + 1));
            OPENSSL_cleanse(line, sizeof(line));
            return value;
        }
    }
    OPENSSL_cleanse(line, sizeof(line));
    return NULL;
}

static int load_credentials(pgb_ctx *ctx, const pgb_options *opts, struct s3_config *c)
{
    const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (id && *id && secret && *secret) {
        c->access_key = pgb_text_dup(id);
        c->secret_key = pgb_text_dup(secret);
        const char *token = getenv("AWS_SESSION_TOKEN");
        c->session_token = token && *token ? pgb_text_dup(token) : NULL;
        if (!c->access_key || !c->secret_key || (token && *token && !c->session_token))
            return pgb_error_nomem(ctx);
        return PGB_OK;
    }
    const char *file = option(opts, "s3-credentials-file");
    char *home_file = NULL;
    if (!file)
        file = getenv("AWS_SHARED_CREDENTIALS_FILE");
    if (!file || !*file) {
        const char *home = getenv("HOME");
        home_file = home ? pgb_text_printf("%s/.aws/credentials", home) : NULL;
        file = home_file;
    }
    const char *profile = option(opts, "s3-profile");
    if (!profile)
        profile = getenv("AWS_PROFILE");
    if (!profile || !*profile)
        profile = "default";
    FILE *f = file ? fopen(file, "r") : NULL;
    if (f) {
        c->access_key = credentials_value(f, profile, "aws_access_key_id");
        c->secret_key = credentials_value(f, profile, "aws_secret_access_key");
        c->session_token = credentials_value(f, profile, "aws_session_token");
        fclose(f);
    }
    int rc = PGB_OK;
    if (!c->access_key || !c->secret_key)
        rc = pgb_error_set(ctx, PGB_EAUTH,
                           "storage %s: no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give "
                           "profile '%s' in %s (--s3-credentials-file, --s3-profile)",
                           c->url, profile, file ? file : "~/.aws/credentials");
    free(home_file);
    return rc;
}

/* The endpoint as scheme and host[:port]: "http://127.0.0.1:9000", "minio:9000" (https), default AWS. */
static int parse_endpoint(pgb_ctx *ctx, const char *endpoint, struct s3_config *c)
{
    if (!endpoint || !*endpoint) {
        c->scheme = pgb_text_dup("https");
        c->host = pgb_text_printf("s3.%s.amazonaws.com", c->region);
        return c->scheme && c->host ? PGB_OK : pgb_error_nomem(ctx);
    }
    const char *rest = endpoint;
    const char *scheme = "https";
    if (strncmp(endpoint, "https://", 8) == 0) {
        rest = endpoint + 8;
    } else if (strncmp(endpoint, "http://", 7) == 0) {
        scheme = "http";
        rest = endpoint + 7;
    } else if (strstr(endpoint, "://")) {
        return pgb_error_set(ctx, PGB_EINVALID, "s3-endpoint %s: only http:// and https:// are supported", endpoint);
    }
    size_t length = strcspn(rest, "/?#");
    if (length == 0 || (rest[length] && strcmp(rest + length, "/") != 0))
        return pgb_error_set(ctx, PGB_EINVALID, "s3-endpoint %s: expected scheme://host[:port], without a path",
                             endpoint);
    c->scheme = pgb_text_dup(scheme);
    c->host = pgb_text_printf("%.*s", (int)length, rest);
    if (!c->scheme || !c->host)
        return pgb_error_nomem(ctx);
    /* The Host header leaves out a default port, as HTTP clients send it. */
    const char *default_port = strcmp(scheme, "https") == 0 ? ":443" : ":80";
    size_t host_length = strlen(c->host);
    if (host_length > strlen(default_port) && !strchr(c->host, ']') &&
        strcmp(c->host + host_length - strlen(default_port), default_port) == 0)
        c->host[host_length - strlen(default_port)] = '\0';
    return PGB_OK;
}

static int valid_bucket(const char *bucket)
{
    size_t n = strlen(bucket);
    if (n < 3 || n > 63)
        return 0;
    for (const char *p = bucket; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-' && *p != '.')
            return 0;
    return isalnum((unsigned char)bucket[0]) && isalnum((unsigned char)bucket[n - 1]);
}

static char *upper(const char *s)
{
    char *out = pgb_text_dup(s);
    for (char *p = out; p && *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return out;
}

int s3_config_new(pgb_ctx *ctx, const char *url, const pgb_options *opts, struct s3_config **out)
{
    *out = NULL;
    struct s3_config *c = calloc(1, sizeof(*c));
    if (!c)
        return pgb_error_nomem(ctx);
    atomic_init(&c->references, 1);
    int rc = PGB_OK;
    c->url = pgb_text_dup(url);
    const char *rest = url + 5; /* after "s3://" */
    size_t bucket_length = strcspn(rest, "/");
    c->bucket = pgb_text_printf("%.*s", (int)bucket_length, rest);
    const char *prefix = rest[bucket_length] ? rest + bucket_length + 1 : "";
    size_t prefix_length = strlen(prefix);
    while (prefix_length > 0 && prefix[prefix_length - 1] == '/')
        prefix_length--;
    c->prefix = prefix_length ? pgb_text_printf("%.*s/", (int)prefix_length, prefix) : pgb_text_dup("");
    c->region = pgb_text_dup(option(opts, "s3-region"));
    if (!c->url || !c->bucket || !c->prefix || !c->region) {
        rc = pgb_error_nomem(ctx);
        goto done;
    }
    if (!valid_bucket(c->bucket)) {
        rc = pgb_error_set(ctx, PGB_EINVALID, "storage URL %s: '%s' is not a bucket name (3 to 63 of a-z 0-9 . -)",
                           url, c->bucket);
        goto done;
    }
    if (prefix_length) {
        c->prefix[prefix_length] = '\0';
        rc = pgb_storage_check_key(ctx, c->prefix);
        c->prefix[prefix_length] = '/';
        if (rc != PGB_OK) {
            pgb_error_prefix(ctx, "storage URL %s", url);
            goto done;
        }
    }
    rc = parse_endpoint(ctx, option(opts, "s3-endpoint"), c);
    if (rc != PGB_OK)
        goto done;
    c->path_style = strcmp(option(opts, "s3-uri-style"), "path") == 0;
    const char *ca_file = option(opts, "s3-ca-file");
    c->ca_file = ca_file ? pgb_text_dup(ca_file) : NULL;
    c->verify_tls = pgb_option_parse_bool(option(opts, "s3-no-verify-tls")) != 1;
    const char *storage_class = option(opts, "s3-storage-class");
    c->storage_class = storage_class ? pgb_text_dup(storage_class) : NULL;
    const char *sse = option(opts, "s3-sse");
    c->sse = sse && strcmp(sse, "none") != 0 ? pgb_text_dup(sse) : NULL;
    const char *kms = option(opts, "s3-sse-kms-key-id");
    c->sse_kms_key_id = kms ? pgb_text_dup(kms) : NULL;
    const char *lock = option(opts, "s3-object-lock");
    c->object_lock_mode = lock && strcmp(lock, "none") != 0 ? upper(lock) : NULL;
    c->object_lock_days = option_int(opts, "s3-object-lock-days");
    c->part_size = (size_t)option_int(opts, "s3-part-size") << 20;
    c->upload_parallel = option_int(opts, "s3-upload-parallel");
    c->timeout_seconds = option_int(opts, "storage-timeout");
    const char *conditional = option(opts, "s3-conditional-write");
    c->conditional_write = strcmp(conditional, "yes") == 0 ? 1 : strcmp(conditional, "no") == 0 ? 0 : -1;
    if (c->sse_kms_key_id && (!c->sse || strcmp(c->sse, "aws:kms") != 0)) {
        rc = pgb_error_set(ctx, PGB_EINVALID, "s3-sse-kms-key-id needs --s3-sse aws:kms");
        goto done;
    }
    rc = load_credentials(ctx, opts, c);
done:
    if (rc != PGB_OK)
        config_free(c);
    else
        *out = c;
    return rc;
}

struct s3_config *s3_config_ref(struct s3_config *config)
{
    atomic_fetch_add(&config->references, 1);
    return config;
}

void s3_config_unref(struct s3_config *config)
{
    if (config && atomic_fetch_sub(&config->references, 1) == 1)
        config_free(config);
}

char *s3_config_object_key(const struct s3_config *config, const char *key)
{
    return pgb_text_printf("%s%s", config->prefix, key);
}
