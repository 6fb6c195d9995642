/*
 * libpgbackup: repositories.
 *
 * A repository is a tree of immutable objects on a storage, holding backups of
 * any number of clusters (option "cluster", default "main"). New content is
 * written first and a small catalog record last, atomically: a backup without
 * its record does not exist. Format: doc/repository-format.md.
 *
 * Encryption is chosen at pgb_repo_init() and cannot change: none, a
 * passphrase (option "passphrase-file"), X25519 recipients (option
 * "recipient", repeatable), or both. With recipients only, the writing host
 * keeps a writer key (option "writer-key") and can write backups that it
 * cannot read; "identity" names a recipient's private key for reading.
 */
#ifndef PGBACKUP_REPO_H
#define PGBACKUP_REPO_H

#include "common.h"
#include "storage.h"

PGB_BEGIN_DECLS

/** An open repository. */
typedef struct pgb_repo pgb_repo;

/** A list of backup records, read by pgb_repo_list(). */
typedef struct pgb_backup_list pgb_backup_list;

/**
 * Create a repository on storage, or add a cluster to an existing one.
 *
 * Refuses (PGB_EREFUSED) a storage that holds objects but is not a repository.
 * On an existing repository it adds the cluster named by the "cluster" option
 * if missing, and refuses encryption options that differ from the repository's.
 * With recipients, writes the writer key to the "writer-key" file (default
 * ~/.config/pgbackup/<repository id>.writer-key, mode 0600) and refuses to
 * overwrite an existing file.
 *
 * @param out      set to the open repository; close it with pgb_repo_close()
 * @param storage  where the repository lives; must outlive the repository
 * @param opts     options (cluster, passphrase-file, recipient, writer-key), or NULL
 * @return 0, PGB_EREFUSED, PGB_EINVALID, PGB_EIO, or PGB_EEXISTS for a writer key file
 */
PGB_EXTERN int pgb_repo_init(pgb_repo **out, pgb_storage *storage, const pgb_options *opts);

/**
 * Open an existing repository.
 *
 * For an encrypted repository one of the options passphrase-file, identity or
 * writer-key must give a key (the default writer key file is tried last).
 *
 * @param out      set to the open repository; close it with pgb_repo_close()
 * @param storage  where the repository lives; must outlive the repository
 * @param opts     options (cluster, passphrase-file, identity, writer-key), or NULL
 * @return 0, PGB_ENOTFOUND when there is no repository there, PGB_EAUTH for a
 *         missing or wrong key ("cannot decrypt: wrong key"), PGB_EUNSUPPORTED
 *         for a newer format, or PGB_EIO
 */
PGB_EXTERN int pgb_repo_open(pgb_repo **out, pgb_storage *storage, const pgb_options *opts);

/** Close a repository (NULL is allowed); releases its lock if it holds one. */
PGB_EXTERN void pgb_repo_close(pgb_repo *repo);

/**
 * How the repository is encrypted: "none", "passphrase", "recipients" or
 * "passphrase+recipients"; owned by the repository.
 */
PGB_EXTERN const char *pgb_repo_encryption(const pgb_repo *repo);

/** The repository's id (32 hex digits); owned by the repository. */
PGB_EXTERN const char *pgb_repo_id(const pgb_repo *repo);

/**
 * Whether this handle can read backup content: 1 with no encryption, a
 * passphrase or an identity; 0 for a writer holding only the writer key.
 */
PGB_EXTERN int pgb_repo_can_read(const pgb_repo *repo);

/**
 * Take the writer lock of the cluster: one writer (backup, expire) at a time,
 * readers alongside. A lock left by a dead process on this host is taken over
 * with a warning in the log; a lock held from another host is never taken over.
 *
 * @return 0, or PGB_ELOCKED naming the holder's pid, host and start time
 */
PGB_EXTERN int pgb_repo_lock(pgb_repo *repo);

/** Release the writer lock if this handle holds it. */
PGB_EXTERN int pgb_repo_unlock(pgb_repo *repo);

/**
 * Read the backup records of the cluster, oldest first.
 *
 * @param out  set to the list; free it with pgb_backup_list_free()
 * @return 0, or a PGB_E* code (PGB_ECORRUPT for a damaged record, naming it)
 */
PGB_EXTERN int pgb_repo_list(pgb_backup_list **out, pgb_repo *repo);

/** Number of records in the list. */
PGB_EXTERN size_t pgb_backup_list_count(const pgb_backup_list *list);

/** Id of record i ("20261125T101500Z-physical"), or NULL out of range; owned by the list. */
PGB_EXTERN const char *pgb_backup_list_id(const pgb_backup_list *list, size_t i);

/**
 * The list as a JSON array of backup records (schema in README); owned by the
 * list.
 */
PGB_EXTERN const char *pgb_backup_list_to_json(const pgb_backup_list *list);

/** Free a list (NULL is allowed). */
PGB_EXTERN void pgb_backup_list_free(pgb_backup_list *list);

PGB_END_DECLS

#endif /* PGBACKUP_REPO_H */
