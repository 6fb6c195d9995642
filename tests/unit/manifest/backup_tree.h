/*
 * Helpers of the manifest tests: make a backup-like directory, damage it,
 * write its manifest with our writer, run PostgreSQL's programs on it.
 */
#ifndef PGB_TEST_BACKUP_TREE_H
#define PGB_TEST_BACKUP_TREE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "manifest/checksum.h"
#include "manifest/manifest.h"

#define TREE_PATH_SIZE 8192

/* root/relative into path (TREE_PATH_SIZE bytes); fails the test when too long. */
static void tree_path(char *path, const char *root, const char *relative)
{
    int length = snprintf(path, TREE_PATH_SIZE, "%s%s%s", root, root[0] && relative[0] ? "/" : "", relative);
    CU_ASSERT_FATAL(length > 0 && length < TREE_PATH_SIZE);
}

/* mkdir -p of the folders above root/relative. */
static void tree_make_parents(const char *root, const char *relative)
{
    char path[TREE_PATH_SIZE];
    tree_path(path, root, relative);
    for (char *slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0700);
        *slash = '/';
    }
}

static void tree_write(const char *root, const char *relative, const void *data, size_t size)
{
    tree_make_parents(root, relative);
    char path[TREE_PATH_SIZE];
    tree_path(path, root, relative);
    FILE *file = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(file);
    CU_ASSERT_EQUAL(fwrite(data, 1, size, file), size);
    fclose(file);
}

/* Flip every bit of the byte at offset. */
static void tree_flip_byte(const char *root, const char *relative, long offset)
{
    char path[TREE_PATH_SIZE];
    tree_path(path, root, relative);
    int fd = open(path, O_RDWR);
    CU_ASSERT_FATAL(fd >= 0);
    unsigned char byte = 0;
    CU_ASSERT_EQUAL(pread(fd, &byte, 1, offset), 1);
    byte ^= 0xff;
    CU_ASSERT_EQUAL(pwrite(fd, &byte, 1, offset), 1);
    close(fd);
}

/* Run a shell command; returns its exit status, its output (stdout and stderr) into out. */
static int tree_run(const char *command, char *out, size_t out_size)
{
    char wrapped[8192];
    snprintf(wrapped, sizeof(wrapped), "%s 2>&1", command);
    FILE *pipe = popen(wrapped, "r");
    if (!pipe)
        return -1;
    size_t used = 0;
    if (out && out_size)
        out[0] = '\0';
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), pipe)) > 0) {
        if (out && used + 1 < out_size) {
            size_t take = got < out_size - used - 1 ? got : out_size - used - 1;
            memcpy(out + used, chunk, take);
            used += take;
            out[used] = '\0';
        }
    }
    int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The checksum of a file of the tree, as the writer takes it. */
static void tree_checksum(const char *path, enum pgb_checksum_type type, uint8_t *out, uint64_t *size)
{
    struct pgb_checksum checksum;
    CU_ASSERT_EQUAL_FATAL(pgb_checksum_init(&checksum, type), PGB_OK);
    FILE *file = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(file);
    char buffer[65536];
    size_t got;
    *size = 0;
    while ((got = fread(buffer, 1, sizeof(buffer), file)) > 0) {
        pgb_checksum_update(&checksum, buffer, got);
        *size += got;
    }
    fclose(file);
    size_t length = 0;
    CU_ASSERT_EQUAL(pgb_checksum_final(&checksum, out, &length), PGB_OK);
}

/* What the server leaves out of a manifest: the manifest itself and the WAL. */
static int tree_is_left_out(const char *relative)
{
    static const char *const left_out[] = {"backup_manifest", "pg_wal"};
    for (size_t i = 0; i < sizeof(left_out) / sizeof(left_out[0]); i++) {
        size_t n = strlen(left_out[i]);
        if (strncmp(relative, left_out[i], n) == 0 && (relative[n] == '\0' || relative[n] == '/'))
            return 1;
    }
    return 0;
}

static int tree_by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Add every regular file under root/relative (following links) to the writer, as a backup would. */
static void tree_add_files(struct pgb_manifest_writer *writer, const char *root, const char *relative,
                           enum pgb_checksum_type type)
{
    char path[TREE_PATH_SIZE];
    tree_path(path, root, relative);
    struct dirent **entries = NULL;
    int count = scandir(path, &entries, NULL, tree_by_name);
    CU_ASSERT_FATAL(count >= 0);
    for (int i = 0; i < count; i++) {
        const char *name = entries[i]->d_name;
        char child[TREE_PATH_SIZE], absolute[TREE_PATH_SIZE];
        tree_path(child, relative, name);
        tree_path(absolute, root, child);
        struct stat st;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !tree_is_left_out(child) &&
            stat(absolute, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                tree_add_files(writer, root, child, type);
            } else if (S_ISREG(st.st_mode)) {
                uint8_t checksum[PGB_CHECKSUM_MAX_SIZE];
                uint64_t size = 0;
                tree_checksum(absolute, type, checksum, &size);
                CU_ASSERT_EQUAL(pgb_manifest_writer_add_file(writer, child, size, st.st_mtime, type, checksum),
                                PGB_OK);
            }
        }
        free(entries[i]);
    }
    free(entries);
}

#endif
