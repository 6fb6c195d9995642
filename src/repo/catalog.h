/*
 * The catalog: one record per backup, written last and atomically. A backup
 * whose record is missing does not exist.
 */
#ifndef PGB_REPO_CATALOG_H
#define PGB_REPO_CATALOG_H

#include <jansson.h>

#include "repo/repo.h"

/*
 * Commit the record of backup id (a JSON object; "id" is set from id). Fails
 * with PGB_EEXISTS when a record of that id exists: records are never replaced.
 */
int pgb_catalog_commit(struct pgb_repo *repo, const char *id, json_t *record);

/* Every record of the cluster, sorted by id (that is, by time). *records is a new array. */
int pgb_catalog_read_all(struct pgb_repo *repo, json_t **records);

/*
 * Every record of a folder of the cluster ("drills/": records named by their
 * "id", sealed like the catalog's), sorted by id. *records is a new array.
 */
int pgb_catalog_read_folder(struct pgb_repo *repo, const char *folder, json_t **records);

#endif
