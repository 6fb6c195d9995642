/*
 * Recomputing the checksums of a backup's files on worker threads. A worker
 * never touches the context or the report: it writes what it found into its
 * own task, and the calling thread turns tasks into findings afterwards, in
 * manifest order.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/progress.h"
#include "core/read_ahead.h"
#include "core/worker_pool.h"
#include "manifest/verify_dir.h"

#define READ_BUFFER_SIZE (256 * 1024)
#define READ_AHEAD_MIN_SIZE ((uint64_t)32 << 20)
#define READ_AHEAD_BLOCK_SIZE ((size_t)1 << 20)
#define READ_AHEAD_BLOCKS 4
#define PROGRESS_INTERVAL_MS 200

enum task_outcome { TASK_MATCH, TASK_MISMATCH, TASK_WRONG_LENGTH, TASK_UNREADABLE };

struct shared_counters {
    atomic_uint_fast64_t files_done;
    atomic_uint_fast64_t bytes_done;
};

struct checksum_task {
    const char *root;
    const struct pgb_manifest_file *file;
    struct shared_counters *counters;
    enum task_outcome outcome;
    int error;           /* errno when unreadable */
    uint64_t bytes_read;
    int read_ahead;      /* other workers may run: a large file is read on a thread of its own */
};

/* What hashing one file needs, as the read-ahead's consumer sees it. */
struct hashing {
    struct checksum_task *task;
    struct pgb_checksum *checksum;
};

static void hash_block(void *payload, const uint8_t *data, size_t size)
{
    struct hashing *h = payload;
    h->task->bytes_read += (uint64_t)size;
    atomic_fetch_add(&h->task->counters->bytes_done, (uint64_t)size);
    pgb_checksum_update(h->checksum, data, size);
}

/* Read fd to its end into checksum through buffer; 0, or the errno of a failed read. */
static int read_blocks(int fd, uint8_t *buffer, struct hashing *h)
{
    for (;;) {
        ssize_t got = read(fd, buffer, READ_BUFFER_SIZE);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return errno;
        if (got == 0)
            return 0;
        hash_block(h, buffer, (size_t)got);
    }
}

/*
 * Hash fd into checksum and judge the task. A large file, when other workers
 * may run (jobs > 1), is read on a thread of its own while this one hashes:
 * the largest file is hashed alone at the end, and its copying out of the
 * page cache would otherwise add to its hashing.
 */
static void read_and_hash(struct checksum_task *task, int fd, uint8_t *buffer, struct pgb_checksum *checksum)
{
    struct hashing h = {task, checksum};
    int error = EAGAIN;
    if (task->read_ahead && task->file->size >= READ_AHEAD_MIN_SIZE)
        error = pgb_read_ahead(fd, READ_AHEAD_BLOCK_SIZE, READ_AHEAD_BLOCKS, hash_block, &h);
    if (error == EAGAIN || error == ENOMEM) /* no reading thread: nothing was read yet */
        error = read_blocks(fd, buffer, &h);
    if (error != 0) {
        task->outcome = TASK_UNREADABLE;
        task->error = error;
        return;
    }
    uint8_t digest[PGB_CHECKSUM_MAX_SIZE];
    size_t size = 0;
    if (pgb_checksum_final(checksum, digest, &size) != PGB_OK) {
        task->outcome = TASK_UNREADABLE;
        task->error = EIO;
    } else if (task->bytes_read != task->file->size) {
        /* It changed since the walk: as pg_verifybackup, say so rather than compare. */
        task->outcome = TASK_WRONG_LENGTH;
    } else if (size != task->file->checksum_size || memcmp(digest, task->file->checksum, size) != 0) {
        task->outcome = TASK_MISMATCH;
    } else {
        task->outcome = TASK_MATCH;
    }
}

/* Hash one file into its task; fails only when out of memory, which stops the pool. */
static int hash_file(struct checksum_task *task, const char *absolute, char *errbuf, size_t errlen)
{
    struct pgb_checksum checksum;
    int rc = pgb_checksum_init(&checksum, task->file->checksum_type);
    uint8_t *buffer = malloc(READ_BUFFER_SIZE);
    if (rc != PGB_OK || !buffer) {
        pgb_checksum_cleanup(&checksum);
        free(buffer);
        snprintf(errbuf, errlen, "out of memory while checking \"%s\"", task->file->path);
        return PGB_ENOMEM;
    }
    int fd = open(absolute, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        task->outcome = TASK_UNREADABLE;
        task->error = errno;
    } else {
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        read_and_hash(task, fd, buffer, &checksum);
        close(fd);
    }
    pgb_checksum_cleanup(&checksum);
    free(buffer);
    return PGB_OK;
}

static int run_checksum_task(void *arg, char *errbuf, size_t errlen)
{
    struct checksum_task *task = arg;
    char absolute[PATH_MAX];
    int rc = PGB_OK;
    if (snprintf(absolute, sizeof(absolute), "%s/%s", task->root, task->file->path) >= (int)sizeof(absolute)) {
        task->outcome = TASK_UNREADABLE;
        task->error = ENAMETOOLONG;
    } else {
        rc = hash_file(task, absolute, errbuf, errlen);
    }
    atomic_fetch_add(&task->counters->files_done, 1);
    return rc;
}

static int report_task(struct verify_state *state, const struct checksum_task *task)
{
    const char *path = task->file->path;
    pgb_verify_report_count(state->report, 0, task->bytes_read);
    switch (task->outcome) {
    case TASK_MATCH:
        return PGB_OK;
    case TASK_MISMATCH:
        return pgb_verify_add(state, PGB_FINDING_CHECKSUM, path, "checksum mismatch for file \"%s\"", path);
    case TASK_WRONG_LENGTH:
        return pgb_verify_add(state, PGB_FINDING_CHECKSUM, path,
                              "file \"%s\" should contain %" PRIu64 " bytes, but read %" PRIu64 " bytes", path,
                              task->file->size, task->bytes_read);
    default:
        return pgb_verify_add(state, PGB_FINDING_CHECKSUM, path, "could not read file \"%s\": %s", path,
                              strerror(task->error));
    }
}

/* Largest first, so that one big file does not run alone at the end. */
static int larger_first(const void *a, const void *b)
{
    const struct checksum_task *x = *(struct checksum_task *const *)a, *y = *(struct checksum_task *const *)b;
    return x->file->size < y->file->size ? 1 : x->file->size > y->file->size ? -1 : 0;
}

static int submit_all(struct verify_state *state, pgb_worker_pool *pool, struct checksum_task **order,
                      size_t count, struct pgb_progress *progress, struct shared_counters *counters)
{
    uint64_t last_report = pgb_monotonic_ms();
    int rc = PGB_OK;
    for (size_t i = 0; rc == PGB_OK && i < count; i++) {
        rc = pgb_worker_pool_submit(pool, run_checksum_task, order[i]);
        if (rc == PGB_OK && pgb_monotonic_ms() - last_report >= PROGRESS_INTERVAL_MS) {
            last_report = pgb_monotonic_ms();
            progress->files_done = atomic_load(&counters->files_done);
            progress->bytes_done = atomic_load(&counters->bytes_done);
            rc = pgb_progress_report(state->ctx, progress);
        }
    }
    return rc;
}

int pgb_verify_checksums(struct verify_state *state, int jobs)
{
    size_t file_count = pgb_manifest_file_count(state->manifest), count = 0;
    struct checksum_task *tasks = calloc(file_count ? file_count : 1, sizeof(*tasks));
    struct checksum_task **order = calloc(file_count ? file_count : 1, sizeof(*order));
    struct shared_counters counters;
    atomic_init(&counters.files_done, 0);
    atomic_init(&counters.bytes_done, 0);
    struct pgb_progress progress;
    pgb_progress_begin(&progress, "verify checksums");
    if (!tasks || !order) {
        free(tasks);
        free(order);
        return pgb_error_nomem(state->ctx);
    }
    for (size_t i = 0; i < file_count; i++) {
        const struct pgb_manifest_file *file = pgb_manifest_file_at(state->manifest, i);
        if (state->file_states[i] != VERIFY_FILE_SEEN || file->checksum_type == PGB_CHECKSUM_NONE)
            continue;
        tasks[count] = (struct checksum_task){.root = state->root, .file = file, .counters = &counters,
                                              .read_ahead = jobs > 1};
        order[count] = &tasks[count];
        progress.files_total++;
        progress.bytes_total += file->size;
        count++;
    }
    qsort(order, count, sizeof(*order), larger_first);

    pgb_worker_pool *pool = NULL;
    int rc = count > 0 ? pgb_worker_pool_new(state->ctx, jobs, &pool) : PGB_OK;
    if (rc == PGB_OK && pool) {
        rc = submit_all(state, pool, order, count, &progress, &counters);
        /* Wait even after a failure: tasks point into this function's memory. */
        int waited = pgb_worker_pool_wait(pool);
        if (rc == PGB_OK)
            rc = waited;
        pgb_worker_pool_free(pool);
    }
    if (rc == PGB_OK && count > 0) {
        progress.files_done = progress.files_total;
        progress.bytes_done = atomic_load(&counters.bytes_done);
        rc = pgb_progress_report(state->ctx, &progress);
    }
    for (size_t i = 0; rc == PGB_OK && i < count; i++)
        rc = report_task(state, &tasks[i]);
    free(order);
    free(tasks);
    return rc;
}
