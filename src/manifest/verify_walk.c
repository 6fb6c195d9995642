/*
 * Walking a backup directory as pg_verifybackup's verify_backup_directory()
 * does: following symbolic links (pg_tblspc), every entry must be a directory
 * or a regular file listed in the manifest with the same size. Entries are
 * visited in name order so that reports come out the same every time.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/text.h"
#include "manifest/verify_dir.h"

/* The directories from the root down to the one being read, to refuse symbolic link loops. */
struct ancestor {
    dev_t device;
    ino_t inode;
    const struct ancestor *parent;
};

static int not_dot(const struct dirent *entry)
{
    return strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
}

/* Byte order, not the locale's collation (alphasort): the same order on every host. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int check_file(struct verify_state *state, const char *relative, const struct stat *st)
{
    const struct pgb_manifest_file *file = pgb_manifest_find(state->manifest, relative);
    if (!file)
        return pgb_verify_add(state, PGB_FINDING_EXTRA, relative,
                              "\"%s\" is present on disk but not in the manifest", relative);
    size_t index = pgb_manifest_file_index(state->manifest, file);
    state->file_states[index] = VERIFY_FILE_SEEN;
    pgb_verify_report_count(state->report, 1, 0);
    if ((uint64_t)st->st_size != file->size) {
        state->file_states[index] = VERIFY_FILE_WRONG_SIZE;
        return pgb_verify_add(state, PGB_FINDING_SIZE, relative,
                              "\"%s\" has size %" PRIu64 " on disk but size %" PRIu64 " in the manifest",
                              relative, (uint64_t)st->st_size, file->size);
    }
    return PGB_OK;
}

static int walk_directory(struct verify_state *state, const char *relative, const struct ancestor *parent);

static int visit_entry(struct verify_state *state, const char *relative, const struct ancestor *parent)
{
    if (pgb_verify_is_ignored(relative))
        return PGB_OK;
    char *absolute = pgb_text_printf("%s/%s", state->root, relative);
    if (!absolute)
        return pgb_error_nomem(state->ctx);
    struct stat st;
    int rc = PGB_OK;
    if (stat(absolute, &st) != 0)
        rc = pgb_verify_add(state, PGB_FINDING_EXTRA, relative, "could not stat \"%s\": %s", relative,
                            strerror(errno));
    else if (S_ISDIR(st.st_mode))
        rc = walk_directory(state, relative, &(struct ancestor){st.st_dev, st.st_ino, parent});
    else if (S_ISREG(st.st_mode))
        rc = check_file(state, relative, &st);
    else
        rc = pgb_verify_add(state, PGB_FINDING_EXTRA, relative, "\"%s\" is not a file or directory", relative);
    free(absolute);
    return rc;
}

static int walk_directory(struct verify_state *state, const char *relative, const struct ancestor *self)
{
    for (const struct ancestor *a = self->parent; a; a = a->parent)
        if (a->device == self->device && a->inode == self->inode)
            return pgb_error_set(state->ctx, PGB_EIO, "cannot verify %s: symbolic link loop at \"%s\"",
                                 state->root, relative);
    char *absolute = relative[0] ? pgb_text_printf("%s/%s", state->root, relative) : pgb_text_dup(state->root);
    if (!absolute)
        return pgb_error_nomem(state->ctx);
    struct dirent **entries = NULL;
    int count = scandir(absolute, &entries, not_dot, by_name);
    int rc = PGB_OK;
    if (count < 0)
        rc = pgb_error_set(state->ctx, PGB_EIO, "cannot read directory %s: %s", absolute, strerror(errno));
    for (int i = 0; i < count; i++) {
        if (rc == PGB_OK) {
            char *child = relative[0] ? pgb_text_printf("%s/%s", relative, entries[i]->d_name)
                                      : pgb_text_dup(entries[i]->d_name);
            rc = child ? visit_entry(state, child, self) : pgb_error_nomem(state->ctx);
            free(child);
        }
        free(entries[i]);
    }
    free(entries);
    free(absolute);
    return rc;
}

int pgb_verify_walk(struct verify_state *state)
{
    struct stat st;
    if (stat(state->root, &st) != 0)
        return pgb_error_set(state->ctx, errno == ENOENT ? PGB_ENOTFOUND : PGB_EIO, "cannot read directory %s: %s",
                             state->root, strerror(errno));
    return walk_directory(state, "", &(struct ancestor){st.st_dev, st.st_ino, NULL});
}
