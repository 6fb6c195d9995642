/*
 * Options from an INI-style configuration file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/options.h"
#include "core/text.h"

static int parse_line(pgb_options *opts, char *line, const char *path, size_t number)
{
    char origin[512];
    snprintf(origin, sizeof(origin), "%s:%zu", path, number);
    pgb_text_trim(line);
    if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
        return PGB_OK;
    if (line[0] == '[') {
        if (strcmp(line, "[global]") == 0)
            return PGB_OK;
        return pgb_error_set(opts->ctx, PGB_EINVALID, "%s: unknown section %s (only [global] is known)",
                             origin, line);
    }
    char *equals = strchr(line, '=');
    if (!equals)
        return pgb_error_set(opts->ctx, PGB_EINVALID, "%s: expected 'key = value', found '%s'", origin,
                             line);
    *equals = '\0';
    char *key = pgb_text_trim(line);
    char *value = pgb_text_trim(equals + 1);
    size_t len = strlen(value);
    /* Quotes let a value keep white space at its ends. */
    if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
        value[len - 1] = '\0';
        value++;
    }
    return pgb_options_assign(opts, key, value, PGB_SOURCE_FILE, origin);
}

int pgb_options_load_file(pgb_options *opts, const char *path)
{
    if (!pgb_options_is_valid(opts))
        return PGB_EINVALID;
    pgb_error_clear(opts->ctx);
    if (!path)
        return pgb_error_set(opts->ctx, PGB_EINVALID, "configuration file name is NULL");
    FILE *file = fopen(path, "r");
    if (!file)
        return pgb_error_set(opts->ctx, errno == ENOENT ? PGB_ENOTFOUND : PGB_EIO,
                             "cannot open configuration file %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t capacity = 0;
    size_t number = 0;
    int rc = PGB_OK;
    while (rc == PGB_OK && getline(&line, &capacity, file) != -1)
        rc = parse_line(opts, line, path, ++number);
    if (rc == PGB_OK && ferror(file))
        rc = pgb_error_set(opts->ctx, PGB_EIO, "cannot read configuration file %s", path);
    free(line);
    fclose(file);
    return rc;
}
