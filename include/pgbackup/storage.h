/*
 * libpgbackup: storage backends.
 *
 * A storage is a flat space of objects named by keys ("wal/0000000100000000/x"):
 * relative paths of "/"-separated names, none empty, ".", ".." or starting with
 * ".". Every repository lives on one. Writes become visible only when committed,
 * all at once; an aborted or interrupted write leaves nothing visible.
 * Backends: a local path ("/srv/backup", "file:///srv/backup"), S3 and
 * compatible object stores ("s3://bucket/prefix"), another host over SFTP
 * ("sftp://user@host:port/path"), and storage made of callbacks supplied by
 * the embedding program (pgb_storage_from_callbacks).
 */
#ifndef PGBACKUP_STORAGE_H
#define PGBACKUP_STORAGE_H

#include "common.h"

PGB_BEGIN_DECLS

/** A storage backend. */
typedef struct pgb_storage pgb_storage;
/** An object being read. */
typedef struct pgb_storage_reader pgb_storage_reader;
/** An object being written, invisible until pgb_storage_writer_commit(). */
typedef struct pgb_storage_writer pgb_storage_writer;

/** Flags of pgb_storage_writer_open() and pgb_storage_put(). */
typedef enum pgb_storage_flag {
    /** Commit fails with PGB_EEXISTS, atomically, when the key exists already. */
    PGB_STORAGE_NO_OVERWRITE = 1
} pgb_storage_flag;

/**
 * Receives one key of a listing.
 *
 * @param key      the object's key; valid during the call only
 * @param size     the object's size in bytes
 * @param payload  the pointer given to the listing function
 * @return 0 to go on; any other value stops the listing, which then fails
 *         with PGB_ECANCELED
 */
typedef int (*pgb_storage_list_fn)(const char *key, uint64_t size, void *payload);

/** Version of pgb_storage_ops described by this header. */
#define PGB_STORAGE_OPS_VERSION 1

/**
 * Storage supplied by the embedding program, as a function table.
 *
 * Each function returns 0 or a negative PGB_E* code; it may describe the failure
 * with pgb_ctx_set_error() on a context it keeps in its payload, else the
 * library records a generic message naming the key. Keys are checked before
 * they reach a callback. The table begins with its version and only grows at
 * the end; set version to PGB_STORAGE_OPS_VERSION.
 */
typedef struct pgb_storage_ops {
    int version;
    /** Open key for reading from offset; length 0 reads to the end. PGB_ENOTFOUND when absent. */
    int (*open_read)(void *payload, const char *key, uint64_t offset, uint64_t length, void **stream);
    /** Read up to size bytes into buffer; *got = 0 only at the end. */
    int (*read)(void *payload, void *stream, void *buffer, size_t size, size_t *got);
    /** End a read stream. */
    void (*close_read)(void *payload, void *stream);
    /** Begin writing key; flags are pgb_storage_flag values. Nothing is visible yet. */
    int (*open_write)(void *payload, const char *key, int flags, void **stream);
    /** Append size bytes. */
    int (*write)(void *payload, void *stream, const void *data, size_t size);
    /** Make the object visible, durably and at once, and end the stream. */
    int (*commit)(void *payload, void *stream);
    /** Discard what was written and end the stream. */
    void (*abort)(void *payload, void *stream);
    /** Call each for every committed key that begins with prefix ("" for all). */
    int (*list)(void *payload, const char *prefix, pgb_storage_list_fn each, void *each_payload);
    /** Size of a committed object; PGB_ENOTFOUND when absent. */
    int (*stat)(void *payload, const char *key, uint64_t *size);
    /** Remove an object; an absent one is not an error. */
    int (*remove)(void *payload, const char *key);
    /** Release the payload when the storage is freed; may be NULL. */
    void (*free)(void *payload);
} pgb_storage_ops;

/**
 * Open the storage named by a URL: a path or file:///path (the folder is made,
 * mode 0700, by the first write); s3://bucket[/prefix] (options s3-endpoint,
 * s3-region, s3-uri-style, s3-ca-file, s3-no-verify-tls, s3-credentials-file,
 * s3-profile and the write settings s3-sse, s3-storage-class, s3-object-lock;
 * credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a
 * credentials file); sftp://user@host[:port]/path (options sftp-key,
 * sftp-known-hosts; the host key must be known). storage-timeout bounds every
 * remote operation, retries included. An SFTP storage connects here; S3
 * sends its first request with the first operation.
 *
 * @param out   set to the storage; free it with pgb_storage_free()
 * @param ctx   the context that receives errors
 * @param url   where the storage is
 * @param opts  backend options (pgb_options), or NULL for the defaults
 * @return 0, PGB_EUNSUPPORTED for a scheme this build does not know,
 *         PGB_EINVALID for a malformed URL or option, PGB_EAUTH for missing S3
 *         credentials or an unknown or changed SFTP host key, or
 *         PGB_ECONNECTION when an SFTP server cannot be reached
 */
PGB_EXTERN int pgb_storage_open(pgb_storage **out, pgb_ctx *ctx, const char *url,
                                const pgb_options *opts);

/**
 * Make a storage of callbacks supplied by the program.
 *
 * @param out      set to the storage; free it with pgb_storage_free()
 * @param ctx      the context that receives errors
 * @param ops      the function table; copied, so it need not outlive the call
 * @param payload  passed to every callback; ops->free releases it, if set
 * @param name     how messages name this storage ("inventory-store")
 * @return 0, or PGB_EINVALID for a missing function or an unknown version
 */
PGB_EXTERN int pgb_storage_from_callbacks(pgb_storage **out, pgb_ctx *ctx, const pgb_storage_ops *ops,
                                          void *payload, const char *name);

/** Free a storage (NULL is allowed). Its readers and writers must be closed first. */
PGB_EXTERN void pgb_storage_free(pgb_storage *storage);

/** How messages name this storage: its URL or callback name; owned by the storage. */
PGB_EXTERN const char *pgb_storage_name(const pgb_storage *storage);

/**
 * Record an error in a context, for storage callbacks and other code that the
 * library calls back.
 *
 * @param ctx      a context
 * @param code     a negative PGB_E* code
 * @param message  what failed and on which object; copied
 * @return code
 */
PGB_EXTERN int pgb_ctx_set_error(pgb_ctx *ctx, int code, const char *message);

/**
 * Begin reading an object.
 *
 * @param out     set to the reader; close it with pgb_storage_reader_close()
 * @param offset  first byte to read
 * @param length  bytes to read at most; 0 reads to the end
 * @return 0, PGB_ENOTFOUND naming the key, PGB_EINVALID for a bad key, or PGB_EIO
 */
PGB_EXTERN int pgb_storage_reader_open(pgb_storage_reader **out, pgb_storage *storage, const char *key,
                                       uint64_t offset, uint64_t length);

/**
 * Read up to size bytes.
 *
 * @param got  set to the bytes read; 0 only at the end of the object
 * @return 0 or a PGB_E* code
 */
PGB_EXTERN int pgb_storage_reader_read(pgb_storage_reader *reader, void *buffer, size_t size, size_t *got);

/** End a read (NULL is allowed). */
PGB_EXTERN void pgb_storage_reader_close(pgb_storage_reader *reader);

/**
 * Begin writing an object; nothing is visible until commit.
 *
 * @param out    set to the writer; end it with commit or abort
 * @param flags  pgb_storage_flag values, or 0
 * @return 0, PGB_EINVALID for a bad key, or PGB_EIO
 */
PGB_EXTERN int pgb_storage_writer_open(pgb_storage_writer **out, pgb_storage *storage, const char *key,
                                       int flags);

/** Append size bytes to the object. */
PGB_EXTERN int pgb_storage_writer_write(pgb_storage_writer *writer, const void *data, size_t size);

/**
 * Make the object visible, durably and at once, and free the writer (also on failure).
 *
 * @return 0, PGB_EEXISTS with PGB_STORAGE_NO_OVERWRITE when the key exists, or PGB_EIO
 */
PGB_EXTERN int pgb_storage_writer_commit(pgb_storage_writer *writer);

/** Discard the object and free the writer (NULL is allowed). */
PGB_EXTERN void pgb_storage_writer_abort(pgb_storage_writer *writer);

/**
 * Write a whole object from memory and commit it.
 *
 * @return as pgb_storage_writer_open() and pgb_storage_writer_commit()
 */
PGB_EXTERN int pgb_storage_put(pgb_storage *storage, const char *key, const void *data, size_t size,
                               int flags);

/**
 * Read a whole object into memory.
 *
 * @param data  set to the bytes (NUL-terminated for convenience, the NUL not
 *              counted in size); free with pgb_free
 * @param size  set to the size
 * @return 0, PGB_ENOTFOUND naming the key, or another PGB_E* code
 */
PGB_EXTERN int pgb_storage_get(pgb_storage *storage, const char *key, void **data, size_t *size);

/**
 * Size of a committed object.
 *
 * @return 0, or PGB_ENOTFOUND when there is no such object
 */
PGB_EXTERN int pgb_storage_stat(pgb_storage *storage, const char *key, uint64_t *size);

/** Remove an object; an absent one is not an error. */
PGB_EXTERN int pgb_storage_remove(pgb_storage *storage, const char *key);

/**
 * List the committed objects whose keys begin with prefix, in no set order.
 *
 * @param prefix  "" for every object, or a key prefix such as "wal/"
 * @param each    called once per object
 * @return 0, PGB_ECANCELED when each asked to stop, or another PGB_E* code
 */
PGB_EXTERN int pgb_storage_list(pgb_storage *storage, const char *prefix, pgb_storage_list_fn each,
                                void *payload);

PGB_END_DECLS

#endif /* PGBACKUP_STORAGE_H */
