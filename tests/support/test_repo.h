/*
 * A throwaway encrypted repository for unit tests: a temp folder holding a
 * passphrase file, a HOME of its own (writer key files go under
 * $HOME/.config) and the repository in <root>/repo.
 */
#ifndef PGB_TEST_REPO_H
#define PGB_TEST_REPO_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <pgbackup/pgbackup.h>

struct pgb_test_repo {
    char root[64];
    char repo_dir[128];
    pgb_ctx *ctx;
    pgb_storage *storage;
    pgb_repo *repo;
};

/* Make the folder (/tmp/<name>-XXXXXX) and the repository. Returns 0, or 1 on any failure. */
static inline int pgb_test_repo_open(struct pgb_test_repo *t, const char *name)
{
    snprintf(t->root, sizeof(t->root), "/tmp/%s-XXXXXX", name);
    if (!mkdtemp(t->root))
        return 1;
    char home[128], pass[128];
    snprintf(home, sizeof(home), "%s/home", t->root);
    mkdir(home, 0700);
    setenv("HOME", home, 1);
    unsetenv("XDG_CONFIG_HOME");
    snprintf(t->repo_dir, sizeof(t->repo_dir), "%s/repo", t->root);
    snprintf(pass, sizeof(pass), "%s/pass", t->root);
    FILE *f = fopen(pass, "w");
    if (!f)
        return 1;
    fprintf(f, "%s test\n", name);
    fclose(f);
    chmod(pass, 0600);
    pgb_options *o = NULL;
    int failed = pgb_ctx_new(&t->ctx) || pgb_storage_open(&t->storage, t->ctx, t->repo_dir, NULL) ||
                 pgb_options_new(&o, t->ctx) || pgb_options_set(o, "passphrase-file", pass) ||
                 pgb_repo_init(&t->repo, t->storage, o);
    pgb_options_free(o);
    return failed;
}

/* Close everything and remove the folder. Returns 0 once it is gone. */
static inline int pgb_test_repo_close(struct pgb_test_repo *t)
{
    pgb_repo_close(t->repo);
    pgb_storage_free(t->storage);
    pgb_ctx_free(t->ctx);
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", t->root);
    return system(command) != 0;
}

#endif
