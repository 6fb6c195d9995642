/*
 * The S3 backend's handle, shared by its files: s3.c (the function table,
 * listing, stat, removal), s3_read.c (streamed range reads), s3_write.c
 * (single and multipart uploads) and s3_create.c (create-only commits).
 */
#ifndef PGB_STORAGE_S3_BACKEND_H
#define PGB_STORAGE_S3_BACKEND_H

#include <stdint.h>
#include <sys/types.h>

#include <pgbackup/storage.h>

#include "storage/s3_request.h"

struct s3_backend {
    pgb_ctx *ctx;
    struct s3_session session;
    CURL *curl;         /* requests made on the calling thread */
    int conditional;    /* -1 not known yet, 0 lease, 1 If-None-Match honoured */
    int list_page_size; /* max-keys of one listing request */
    pid_t pid;          /* the process that made curl and session: a forked child makes its own */
};

/* In a forked child, leave the parent's connections alone and make new ones; 0 or a code recorded. */
int s3_backend_own(struct s3_backend *b);

/* Record the failure of an S3 request in b's context and return its PGB_E* code. */
int s3_fail(struct s3_backend *b, int send_rc, const struct s3_reply *reply, const char *operation,
            const char *object);

/* Send on b's own easy handle. */
int s3_backend_send(struct s3_backend *b, const struct s3_call *call, struct s3_reply *reply);

/* HEAD of an object: 0 with *size (and etag, may be NULL), PGB_ENOTFOUND, or another code recorded. */
int s3_head(struct s3_backend *b, const char *object, uint64_t *size, char *etag, size_t etag_size);

/* The headers every committed object gets (storage class, encryption, Object Lock); count in *count. */
int s3_object_headers(const struct s3_config *config, struct pgb_sigv4_header *headers, size_t capacity,
                      size_t *count, char *retain_until, size_t retain_size);

int s3_open_read(void *payload, const char *key, uint64_t offset, uint64_t length, void **stream);
int s3_read(void *payload, void *stream, void *buffer, size_t size, size_t *got);
void s3_close_read(void *payload, void *stream);

int s3_open_write(void *payload, const char *key, int flags, void **stream);
int s3_write(void *payload, void *stream, const void *data, size_t size);
int s3_commit(void *payload, void *stream);
void s3_abort(void *payload, void *stream);

/*
 * Make object from body (single PUT) or by completing a multipart upload
 * (upload_id set, complete_body the CompleteMultipartUpload document) only if
 * it does not exist: If-None-Match where the server honours it, else a lease.
 * Returns 0, PGB_EEXISTS, or another code recorded.
 */
int s3_create_only(struct s3_backend *b, const char *object, const struct s3_call *put);

/* Commit a prepared call (PUT or Complete) that overwrites; 0 or a code recorded. */
int s3_commit_call(struct s3_backend *b, const char *object, const struct s3_call *call, const char *operation);

/* Remove an object (absent is fine). */
int s3_delete_object(struct s3_backend *b, const char *object);

/* Remove up to 1000 objects in one request; a per-object failure is an error naming it. */
int s3_delete_objects(struct s3_backend *b, const char *const *objects, size_t count);

/* List objects under an object-key prefix: each gets the key, size and LastModified (as text). */
typedef int (*s3_list_fn)(const char *object, uint64_t size, const char *last_modified, void *payload);
int s3_list_objects(struct s3_backend *b, const char *prefix, s3_list_fn each, void *payload);

#endif
