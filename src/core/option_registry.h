/*
 * The one table of option names, types, defaults and help.
 */
#ifndef PGB_CORE_OPTION_REGISTRY_H
#define PGB_CORE_OPTION_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <pgbackup/options.h>

struct pgb_option_spec {
    const char *name;          /* long name, words joined by "-" */
    int type;                  /* pgb_option_type */
    const char *default_value; /* NULL: unset unless given */
    const char *value_hint;    /* placeholder in help; NULL for booleans */
    const char *help;
    const char *const *choices; /* PGB_OPTION_CHOICE: NULL-terminated */
    int64_t min, max;           /* PGB_OPTION_INTEGER */
};

extern const struct pgb_option_spec pgb_option_registry[];
extern const size_t pgb_option_registry_size;

/* The spec for a name ("-" and "_" alike, any case), or NULL. */
const struct pgb_option_spec *pgb_option_spec_find(const char *name);

/* The known option name closest to name, or NULL when none is close. */
const char *pgb_option_closest(const char *name);

/*
 * Check a value against its spec. Returns 0, or writes the reason (what was
 * expected) into reason, of size reason_size, and returns -1.
 */
int pgb_option_check(const struct pgb_option_spec *spec, const char *value, char *reason,
                     size_t reason_size);

/* Parse a boolean word; returns 1, 0, or -1 for anything else. */
int pgb_option_parse_bool(const char *value);

#endif
