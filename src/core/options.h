/*
 * The layout of pgb_options, shared by the files that fill it (API, environment,
 * configuration file).
 */
#ifndef PGB_CORE_OPTIONS_H
#define PGB_CORE_OPTIONS_H

#include <stdint.h>

#include <pgbackup/options.h>

struct pgb_option_value {
    int source;    /* pgb_option_source of the values below */
    char **values; /* owned; count entries */
    size_t count;
};

struct pgb_options {
    uint32_t magic;
    pgb_ctx *ctx;
    struct pgb_option_value *slots; /* one per registry entry */
};

/*
 * Set key from source; origin names where the value came from for messages
 * ("environment variable PGBACKUP_JOBS", "/etc/pgbackup.conf:3"), or NULL.
 */
int pgb_options_assign(pgb_options *opts, const char *key, const char *value, int source,
                       const char *origin);

int pgb_options_is_valid(const pgb_options *opts);

#endif
