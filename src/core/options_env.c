/*
 * Options from PGBACKUP_* environment variables.
 */
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "core/options.h"
#include "core/text.h"

extern char **environ;

static const char prefix[] = "PGBACKUP_";

/* Variables with our prefix that are not options: the bindings read them. */
static const char *const not_options[] = {"PGBACKUP_LIBRARY", NULL};

static int is_reserved(const char *name, size_t len)
{
    for (size_t i = 0; not_options[i]; i++)
        if (strlen(not_options[i]) == len && strncmp(not_options[i], name, len) == 0)
            return 1;
    return 0;
}

int pgb_options_load_env(pgb_options *opts, const char *const *envp)
{
    if (!pgb_options_is_valid(opts))
        return PGB_EINVALID;
    pgb_error_clear(opts->ctx);
    if (!envp)
        envp = (const char *const *)environ;
    for (size_t i = 0; envp[i]; i++) {
        const char *entry = envp[i];
        const char *equals = strchr(entry, '=');
        if (!equals || strncmp(entry, prefix, sizeof(prefix) - 1) != 0)
            continue;
        size_t name_len = (size_t)(equals - entry);
        if (is_reserved(entry, name_len))
            continue;
        char *name = pgb_text_printf("%.*s", (int)name_len, entry);
        char *origin = pgb_text_printf("environment variable %s", name ? name : "");
        if (!name || !origin) {
            free(name);
            free(origin);
            return pgb_error_nomem(opts->ctx);
        }
        int rc = pgb_options_assign(opts, name + sizeof(prefix) - 1, equals + 1, PGB_SOURCE_ENVIRONMENT,
                                    origin);
        free(name);
        free(origin);
        if (rc != PGB_OK)
            return rc;
    }
    return PGB_OK;
}
