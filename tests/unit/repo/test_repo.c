/*
 * Repositories: init refuses foreign data, the marker is the commit point,
 * catalog records are committed once and listed in time order, encryption
 * hides everything but what is needed to find the key, and the writer lock
 * admits one writer: on a local folder, and on S3 (s3rver) and SFTP (sshd)
 * started by the test.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include <pgbackup/pgbackup.h>

#include "repo/catalog.h"
#include "repo/repo.h"
#include "storage_servers.h"
#include "test_main.h"

static pgb_ctx *ctx;
static char root[64];
static char path[400];
static int counter;
static pgb_options *remote_options; /* S3 and SFTP suites: how to reach the server */
static char remote_base[256];       /* their storages are made under this URL */
static struct pgb_test_server remote_server;

static int setup(void)
{
    snprintf(root, sizeof(root), "/tmp/pgb-repo-XXXXXX");
    if (!mkdtemp(root) || pgb_ctx_new(&ctx) != PGB_OK)
        return 1;
    /* Writer key files go under $HOME/.config by default: keep them in the temp folder. */
    char home[128];
    snprintf(home, sizeof(home), "%s/home", root);
    mkdir(home, 0700);
    setenv("HOME", home, 1);
    unsetenv("XDG_CONFIG_HOME");
    return 0;
}

static int teardown(void)
{
    pgb_ctx_free(ctx);
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    return system(command) != 0;
}

/* A fresh folder for one test. */
static const char *fresh(const char *name)
{
    snprintf(path, sizeof(path), "%s/%s-%d", remote_base[0] ? remote_base : root, name, ++counter);
    return path;
}

static pgb_storage *open_storage(const char *where)
{
    pgb_storage *s = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_storage_open(&s, ctx, where, remote_options), PGB_OK);
    return s;
}

static pgb_options *options(const char *const *pairs)
{
    pgb_options *o = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_options_new(&o, ctx), PGB_OK);
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        CU_ASSERT_EQUAL_FATAL(pgb_options_set(o, pairs[i], pairs[i + 1]), PGB_OK);
    return o;
}

static void write_file(const char *file, const char *text, mode_t mode)
{
    FILE *f = fopen(file, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    chmod(file, mode);
}

static json_t *record(const char *type)
{
    return json_pack("{s:s, s:s}", "type", type, "database", "payroll_db");
}

static void test_init_then_open_gives_an_empty_list(void)
{
    pgb_storage *s = open_storage(fresh("plain"));
    pgb_repo *repo = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&repo, s, NULL), PGB_OK);
    CU_ASSERT_STRING_EQUAL(pgb_repo_encryption(repo), "none");
    CU_ASSERT_EQUAL(strlen(pgb_repo_id(repo)), 32);
    pgb_repo_close(repo);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_open(&repo, s, NULL), PGB_OK);
    pgb_backup_list *list = NULL;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_list(&list, repo), PGB_OK);
    CU_ASSERT_EQUAL(pgb_backup_list_count(list), 0);
    CU_ASSERT_STRING_EQUAL(pgb_backup_list_to_json(list), "[]");
    pgb_backup_list_free(list);
    pgb_repo_close(repo);
    pgb_storage_free(s);
}

static void test_init_refuses_a_folder_with_foreign_data(void)
{
    const char *where = fresh("foreign");
    mkdir(where, 0700);
    char file[420];
    snprintf(file, sizeof(file), "%s/PG_VERSION", where);
    write_file(file, "15\n", 0600);
    pgb_storage *s = open_storage(where);
    pgb_repo *repo = (pgb_repo *)1;
    CU_ASSERT_EQUAL(pgb_repo_init(&repo, s, NULL), PGB_EREFUSED);
    CU_ASSERT_PTR_NULL(repo);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), where));
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "not empty"));
    CU_ASSERT_EQUAL(pgb_storage_stat(s, "pgbackup.repo", NULL), PGB_ENOTFOUND);
    pgb_storage_free(s);
}

static void test_open_without_repository_says_so(void)
{
    pgb_storage *s = open_storage(fresh("nothing"));
    pgb_repo *repo;
    CU_ASSERT_EQUAL(pgb_repo_open(&repo, s, NULL), PGB_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "no libpgbackup repository"));
    pgb_storage_free(s);
}

static void test_init_again_adds_a_cluster_and_keeps_encryption(void)
{
    pgb_storage *s = open_storage(fresh("again"));
    pgb_repo *repo;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&repo, s, NULL), PGB_OK);
    char id[33];
    snprintf(id, sizeof(id), "%s", pgb_repo_id(repo));
    pgb_repo_close(repo);
    const char *second[] = {"cluster", "reporting", NULL};
    pgb_options *o = options(second);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&repo, s, o), PGB_OK);
    CU_ASSERT_STRING_EQUAL(pgb_repo_id(repo), id);
    pgb_repo_close(repo);
    CU_ASSERT_EQUAL(pgb_storage_stat(s, "clusters/reporting/cluster", NULL), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_stat(s, "clusters/main/cluster", NULL), PGB_OK);
    char pass[420];
    snprintf(pass, sizeof(pass), "%s/pass-%d", root, counter);
    write_file(pass, "secret\n", 0600);
    CU_ASSERT_EQUAL(pgb_options_set(o, "passphrase-file", pass), PGB_OK);
    CU_ASSERT_EQUAL(pgb_repo_init(&repo, s, o), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "cannot change"));
    pgb_options_set(o, "cluster", "../escape");
    pgb_options_unset(o, "passphrase-file");
    CU_ASSERT_EQUAL(pgb_repo_init(&repo, s, o), PGB_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "cluster name"));
    pgb_options_free(o);
    pgb_storage_free(s);
}

static void test_records_are_committed_once_and_listed_in_time_order(void)
{
    pgb_storage *s = open_storage(fresh("catalog"));
    pgb_repo *repo;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&repo, s, NULL), PGB_OK);
    const char *ids[] = {"20261125T120000Z-physical", "20261124T080000Z-logical", "20261125T090000Z-globals"};
    for (int i = 0; i < 3; i++) {
        json_t *r = record("physical");
        CU_ASSERT_EQUAL(pgb_catalog_commit(repo, ids[i], r), PGB_OK);
        json_decref(r);
    }
    json_t *again = record("physical");
    CU_ASSERT_EQUAL(pgb_catalog_commit(repo, ids[0], again), PGB_EEXISTS);
    CU_ASSERT_EQUAL(pgb_catalog_commit(repo, "bad/id", again), PGB_EINVALID);
    json_decref(again);
    pgb_backup_list *list;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_list(&list, repo), PGB_OK);
    CU_ASSERT_EQUAL(pgb_backup_list_count(list), 3);
    CU_ASSERT_STRING_EQUAL(pgb_backup_list_id(list, 0), "20261124T080000Z-logical");
    CU_ASSERT_STRING_EQUAL(pgb_backup_list_id(list, 2), "20261125T120000Z-physical");
    CU_ASSERT_PTR_NULL(pgb_backup_list_id(list, 3));
    json_t *doc = json_loads(pgb_backup_list_to_json(list), 0, NULL);
    CU_ASSERT_EQUAL(json_array_size(doc), 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(doc, 1), "id")), "20261125T090000Z-globals");
    json_decref(doc);
    pgb_backup_list_free(list);

    /* A damaged record makes the listing fail and names the record. */
    void *data;
    size_t size;
    const char *key = "clusters/main/backups/20261125T090000Z-globals";
    CU_ASSERT_EQUAL_FATAL(pgb_storage_get(s, key, &data, &size), PGB_OK);
    ((uint8_t *)data)[size / 2] ^= 0x40;
    CU_ASSERT_EQUAL(pgb_storage_put(s, key, data, size, 0), PGB_OK);
    pgb_free(data);
    CU_ASSERT_EQUAL(pgb_repo_list(&list, repo), PGB_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), key));
    pgb_repo_close(repo);
    pgb_storage_free(s);
}

/* Whether any file under folder contains text. */
static int folder_contains(const char *folder, const char *text)
{
    char command[512];
    snprintf(command, sizeof(command), "grep -rqa -- '%s' '%s'", text, folder);
    return system(command) == 0;
}

static void test_passphrase_repository_hides_everything_but_the_keyring(void)
{
    const char *where = fresh("passphrase");
    char dir[400], pass[480], wrong[480];
    snprintf(dir, sizeof(dir), "%s", where);
    snprintf(pass, sizeof(pass), "%s.pass", dir);
    snprintf(wrong, sizeof(wrong), "%s.wrong", dir);
    write_file(pass, "correct horse battery staple\n", 0600);
    write_file(wrong, "incorrect horse\n", 0600);
    pgb_storage *s = open_storage(dir);
    const char *init_opts[] = {"passphrase-file", pass, "cluster", "payroll", NULL};
    pgb_options *o = options(init_opts);
    pgb_repo *repo;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&repo, s, o), PGB_OK);
    CU_ASSERT_STRING_EQUAL(pgb_repo_encryption(repo), "passphrase");
    CU_ASSERT_EQUAL(pgb_repo_can_read(repo), 1);
    json_t *r = record("logical");
    CU_ASSERT_EQUAL(pgb_catalog_commit(repo, "20261125T100000Z-logical", r), PGB_OK);
    json_decref(r);
    pgb_repo_close(repo);

    /* Neither the cluster's name nor the record's content shows anywhere. */
    CU_ASSERT(!folder_contains(dir, "payroll"));
    CU_ASSERT(!folder_contains(dir, "logical\""));

    pgb_options_set(o, "passphrase-file", wrong);
    CU_ASSERT_EQUAL(pgb_repo_open(&repo, s, o), PGB_EAUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "wrong key"));
    pgb_options_unset(o, "passphrase-file");
    CU_ASSERT_EQUAL(pgb_repo_open(&repo, s, o), PGB_EAUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "--passphrase-file"));

    pgb_options_set(o, "passphrase-file", pass);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_open(&repo, s, o), PGB_OK);
    pgb_backup_list *list;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_list(&list, repo), PGB_OK);
    CU_ASSERT_EQUAL(pgb_backup_list_count(list), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_backup_list_to_json(list), "payroll_db"));
    pgb_backup_list_free(list);
    pgb_repo_close(repo);
    pgb_options_free(o);
    pgb_storage_free(s);
}

static void test_recipients_let_a_writer_write_what_it_cannot_read(void)
{
    const char *where = fresh("recipients");
    char dir[400], identity[480], public_key[480], other[480], writer_key[480];
    snprintf(dir, sizeof(dir), "%s", where);
    snprintf(identity, sizeof(identity), "%s.id", dir);
    snprintf(public_key, sizeof(public_key), "%s.id.pub", dir);
    snprintf(other, sizeof(other), "%s.other", dir);
    snprintf(writer_key, sizeof(writer_key), "%s.writer", dir);
    CU_ASSERT_EQUAL_FATAL(pgb_keygen(ctx, identity), PGB_OK);
    CU_ASSERT_EQUAL_FATAL(pgb_keygen(ctx, other), PGB_OK);
    CU_ASSERT_EQUAL(pgb_keygen(ctx, identity), PGB_EEXISTS);

    pgb_storage *s = open_storage(dir);
    const char *init_opts[] = {"recipient", public_key, "writer-key", writer_key, NULL};
    pgb_options *o = options(init_opts);
    pgb_repo *repo;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&repo, s, o), PGB_OK);
    CU_ASSERT_STRING_EQUAL(pgb_repo_encryption(repo), "recipients");
    pgb_repo_close(repo);
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(writer_key, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);

    /* The writing host: the writer key only. */
    pgb_options_unset(o, "recipient");
    CU_ASSERT_EQUAL_FATAL(pgb_repo_open(&repo, s, o), PGB_OK);
    CU_ASSERT_EQUAL(pgb_repo_can_read(repo), 0);
    json_t *r = record("physical");
    CU_ASSERT_EQUAL(pgb_catalog_commit(repo, "20261125T110000Z-physical", r), PGB_OK);
    json_decref(r);
    pgb_backup_list *list;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_list(&list, repo), PGB_OK);
    CU_ASSERT_EQUAL(pgb_backup_list_count(list), 1);
    pgb_backup_list_free(list);
    pgb_repo_close(repo);

    /* The restore host: the identity. A stranger's identity is refused as a wrong key. */
    pgb_options_unset(o, "writer-key");
    pgb_options_set(o, "identity", other);
    CU_ASSERT_EQUAL(pgb_repo_open(&repo, s, o), PGB_EAUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "wrong key"));
    pgb_options_set(o, "identity", identity);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_open(&repo, s, o), PGB_OK);
    CU_ASSERT_EQUAL(pgb_repo_can_read(repo), 1);
    CU_ASSERT_EQUAL_FATAL(pgb_repo_list(&list, repo), PGB_OK);
    CU_ASSERT_EQUAL(pgb_backup_list_count(list), 1);
    pgb_backup_list_free(list);
    pgb_repo_close(repo);

    /* A writer key of another repository is a wrong key too. */
    char forged[480];
    snprintf(forged, sizeof(forged), "%s.forged", dir);
    write_file(forged, "0000000000000000000000000000000000000000000000000000000000000000\n", 0600);
    pgb_options_unset(o, "identity");
    pgb_options_set(o, "writer-key", forged);
    CU_ASSERT_EQUAL(pgb_repo_open(&repo, s, o), PGB_EAUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "wrong key"));
    pgb_options_free(o);
    pgb_storage_free(s);
}

static void test_recipient_init_writes_the_default_writer_key_file(void)
{
    const char *where = fresh("default-writer");
    char dir[400], identity[480], public_key[480];
    snprintf(dir, sizeof(dir), "%s", where);
    snprintf(identity, sizeof(identity), "%s.id", dir);
    snprintf(public_key, sizeof(public_key), "%s.id.pub", dir);
    CU_ASSERT_EQUAL_FATAL(pgb_keygen(ctx, identity), PGB_OK);
    pgb_storage *s = open_storage(dir);
    const char *init_opts[] = {"recipient", public_key, NULL};
    pgb_options *o = options(init_opts);
    pgb_repo *repo;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&repo, s, o), PGB_OK);
    char expected[400];
    snprintf(expected, sizeof(expected), "%s/.config/pgbackup/%s.writer-key", getenv("HOME"), pgb_repo_id(repo));
    pgb_repo_close(repo);
    struct stat st;
    CU_ASSERT_EQUAL(stat(expected, &st), 0);
    /* With no option at all, the default writer key file opens the repository for writing. */
    CU_ASSERT_EQUAL_FATAL(pgb_repo_open(&repo, s, NULL), PGB_OK);
    CU_ASSERT_EQUAL(pgb_repo_can_read(repo), 0);
    pgb_repo_close(repo);
    pgb_options_free(o);
    pgb_storage_free(s);
}

struct log_capture {
    char text[512];
};

static void capture(int level, const char *message, void *payload)
{
    (void)level;
    struct log_capture *c = payload;
    snprintf(c->text, sizeof(c->text), "%s", message);
}

static void test_one_writer_at_a_time_and_dead_locks_are_taken_over(void)
{
    const char *where = fresh("lock");
    char dir[400];
    snprintf(dir, sizeof(dir), "%s", where);
    pgb_storage *s = open_storage(dir);
    pgb_repo *repo;
    CU_ASSERT_EQUAL_FATAL(pgb_repo_init(&repo, s, NULL), PGB_OK);

    /* A live holder: a child process that keeps the lock until told to go. */
    int ready[2], go[2];
    CU_ASSERT_FATAL(pipe(ready) == 0 && pipe(go) == 0);
    pid_t child = fork();
    if (child == 0) {
        pgb_ctx *c;
        pgb_storage *cs;
        pgb_repo *cr;
        char byte = pgb_ctx_new(&c) == PGB_OK && pgb_storage_open(&cs, c, dir, remote_options) == PGB_OK &&
                            pgb_repo_open(&cr, cs, NULL) == PGB_OK && pgb_repo_lock(cr) == PGB_OK
                        ? 'y'
                        : 'n';
        if (write(ready[1], &byte, 1) != 1 || read(go[0], &byte, 1) < 0)
            _exit(2);
        _exit(byte == 'k' ? (raise(SIGKILL), 3) : 0);
    }
    char byte = 0;
    CU_ASSERT_EQUAL_FATAL(read(ready[0], &byte, 1), 1);
    CU_ASSERT_EQUAL_FATAL(byte, 'y');
    CU_ASSERT_EQUAL(pgb_repo_lock(repo), PGB_ELOCKED);
    char holder[64];
    snprintf(holder, sizeof(holder), "pid %d on host ", (int)child);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), holder));

    /* The holder dies without releasing: the lock is taken over, with a warning. */
    byte = 'k';
    CU_ASSERT_EQUAL(write(go[1], &byte, 1), 1);
    int status;
    waitpid(child, &status, 0);
    CU_ASSERT(WIFSIGNALED(status));
    struct log_capture log = {{0}};
    pgb_ctx_set_log(ctx, capture, &log, PGB_LOG_WARNING);
    CU_ASSERT_EQUAL(pgb_repo_lock(repo), PGB_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(log.text, "taking over the lock"));
    pgb_ctx_set_log(ctx, NULL, NULL, PGB_LOG_INFO);
    CU_ASSERT_EQUAL(pgb_repo_unlock(repo), PGB_OK);
    CU_ASSERT_EQUAL(pgb_storage_stat(s, "clusters/main/lock/writer", NULL), PGB_ENOTFOUND);

    /* A lock from another host is never taken over, even if its pid means nothing here. */
    const char *foreign = "{\"pid\":999999,\"pid_start\":1,\"host\":\"db-elsewhere\",\"started\":"
                          "\"2026-11-25T10:00:00+00:00\",\"token\":\"x\"}";
    struct pgb_object_spec spec;
    pgb_repo_record_spec(repo, 0, &spec);
    CU_ASSERT_EQUAL(pgb_object_put(s, "clusters/main/lock/writer", &repo->keys, &spec, foreign, strlen(foreign), NULL),
                    PGB_OK);
    CU_ASSERT_EQUAL(pgb_repo_lock(repo), PGB_ELOCKED);
    CU_ASSERT_PTR_NOT_NULL(strstr(pgb_ctx_errmsg(ctx), "db-elsewhere"));
    /* Closing does not remove a lock it does not hold. */
    pgb_repo_close(repo);
    CU_ASSERT_EQUAL(pgb_storage_stat(s, "clusters/main/lock/writer", NULL), PGB_OK);
    pgb_storage_free(s);
}

static int setup_s3(void)
{
    if (setup() != 0 || pgb_test_server_start(&remote_server, "s3rver", NULL) != 0 ||
        pgb_options_new(&remote_options, ctx) != PGB_OK || pgb_test_s3_options(&remote_server, remote_options) != 0)
        return 1;
    snprintf(remote_base, sizeof(remote_base), "s3://%s/repo", PGB_TEST_BUCKET);
    return 0;
}

static int setup_sftp(void)
{
    if (setup() != 0 || pgb_test_server_start(&remote_server, "sshd", NULL) != 0 ||
        pgb_options_new(&remote_options, ctx) != PGB_OK ||
        pgb_test_sftp_options(&remote_server, remote_options, "repo", remote_base, sizeof(remote_base)) != 0)
        return 1;
    return 0;
}

static int teardown_remote(void)
{
    pgb_options_free(remote_options);
    remote_options = NULL;
    remote_base[0] = '\0';
    pgb_test_server_free(&remote_server);
    return teardown();
}

/* Whether suites on server kind run: when it is installed, and always under CI (where a failure to start fails). */
static int server_available(const char *kind)
{
    struct pgb_test_server probe;
    int rc = pgb_test_server_start(&probe, kind, NULL);
    pgb_test_server_free(&probe);
    return rc != 2 || pgb_test_in_ci();
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"init_then_open_gives_an_empty_list", test_init_then_open_gives_an_empty_list},
        {"init_refuses_a_folder_with_foreign_data", test_init_refuses_a_folder_with_foreign_data},
        {"open_without_repository_says_so", test_open_without_repository_says_so},
        {"init_again_adds_a_cluster_and_keeps_encryption", test_init_again_adds_a_cluster_and_keeps_encryption},
        {"records_are_committed_once_and_listed_in_time_order",
         test_records_are_committed_once_and_listed_in_time_order},
        {"passphrase_repository_hides_everything_but_the_keyring",
         test_passphrase_repository_hides_everything_but_the_keyring},
        {"recipients_let_a_writer_write_what_it_cannot_read", test_recipients_let_a_writer_write_what_it_cannot_read},
        {"recipient_init_writes_the_default_writer_key_file", test_recipient_init_writes_the_default_writer_key_file},
        {"one_writer_at_a_time_and_dead_locks_are_taken_over", test_one_writer_at_a_time_and_dead_locks_are_taken_over},
        CU_TEST_INFO_NULL,
    };
    /* What the repository asks of any storage: committed-once records and the writer lock. */
    CU_TestInfo remote[] = {
        {"records_are_committed_once_and_listed_in_time_order",
         test_records_are_committed_once_and_listed_in_time_order},
        {"one_writer_at_a_time_and_dead_locks_are_taken_over", test_one_writer_at_a_time_and_dead_locks_are_taken_over},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[4] = {{"repo", setup, teardown, NULL, NULL, tests}, CU_SUITE_INFO_NULL, CU_SUITE_INFO_NULL,
                              CU_SUITE_INFO_NULL};
    int n = 1;
    if (server_available("s3rver"))
        suites[n++] = (CU_SuiteInfo){"repo/s3", setup_s3, teardown_remote, NULL, NULL, remote};
    if (server_available("sshd"))
        suites[n++] = (CU_SuiteInfo){"repo/sftp", setup_sftp, teardown_remote, NULL, NULL, remote};
    return pgb_test_run(suites);
}
