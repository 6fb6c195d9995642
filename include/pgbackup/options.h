/*
 * libpgbackup: options.
 *
 * One registry of option names serves the C API, the pgbackup command line
 * (--compress=zstd:3), the INI configuration file (compress = zstd:3) and the
 * environment (PGBACKUP_COMPRESS). Values are strings, checked when they are set.
 * Precedence, highest first: pgb_options_set() (the command line), the
 * environment, the configuration file, the default. A new feature adds a key,
 * never a parameter, so programs and bindings keep working.
 */
#ifndef PGBACKUP_OPTIONS_H
#define PGBACKUP_OPTIONS_H

#include "common.h"

PGB_BEGIN_DECLS

/** The kind of value an option takes. */
typedef enum pgb_option_type {
    PGB_OPTION_STRING = 0,   /**< any text */
    PGB_OPTION_PATH = 1,     /**< a file or folder name */
    PGB_OPTION_INTEGER = 2,  /**< a whole number within a range */
    PGB_OPTION_BOOLEAN = 3,  /**< true/false, on/off, yes/no, 1/0 */
    PGB_OPTION_CHOICE = 4,   /**< one word of a fixed list */
    PGB_OPTION_COMPRESS = 5, /**< ALGORITHM[:LEVEL] */
    PGB_OPTION_LIST = 6      /**< repeatable; values kept in order */
} pgb_option_type;

/** Where an option's value came from, lowest precedence first. */
typedef enum pgb_option_source {
    PGB_SOURCE_DEFAULT = 0,
    PGB_SOURCE_FILE = 1,
    PGB_SOURCE_ENVIRONMENT = 2,
    PGB_SOURCE_EXPLICIT = 3
} pgb_option_source;

/* ---- The registry (static, needs no context) ---- */

/** Number of options in the registry. */
PGB_EXTERN size_t pgb_option_count(void);

/**
 * Index of an option in the registry.
 *
 * @param name  the long name without dashes, such as "compress"
 * @return the index, or -1 when there is no such option
 */
PGB_EXTERN int pgb_option_find(const char *name);

/** Name of option i ("compress"), or NULL when i is out of range. */
PGB_EXTERN const char *pgb_option_name(size_t i);
/** pgb_option_type of option i, or PGB_EINVALID when i is out of range. */
PGB_EXTERN int pgb_option_type_of(size_t i);
/** Default value of option i as text, or NULL when it has none. */
PGB_EXTERN const char *pgb_option_default(size_t i);
/** One line of help for option i, or NULL when i is out of range. */
PGB_EXTERN const char *pgb_option_help(size_t i);
/** Placeholder for the value in help text ("ALGO[:LEVEL]"), or NULL. */
PGB_EXTERN const char *pgb_option_value_hint(size_t i);

/* ---- A set of options ---- */

/**
 * Make an empty option set: every option has its default.
 *
 * @param out  set to the new set; free it with pgb_options_free()
 * @param ctx  the context that receives errors
 * @return 0, PGB_EINVALID or PGB_ENOMEM
 */
PGB_EXTERN int pgb_options_new(pgb_options **out, pgb_ctx *ctx);

/** Free an option set (NULL is allowed). */
PGB_EXTERN void pgb_options_free(pgb_options *opts);

/**
 * Set an option with the highest precedence, checking its value at once.
 *
 * For a list option each call adds one value to those set with the same
 * precedence. An unknown key fails with a message that suggests the closest
 * known one.
 *
 * @param opts   an option set
 * @param key    the option name ("compress"); "-" and "_" are the same
 * @param value  the value as text
 * @return 0, or PGB_EINVALID with the reason in the context
 */
PGB_EXTERN int pgb_options_set(pgb_options *opts, const char *key, const char *value);

/**
 * Set an option as if it came from the given source. A value from a lower
 * source never replaces one from a higher source.
 *
 * @param opts    an option set
 * @param key     the option name
 * @param value   the value as text
 * @param source  a pgb_option_source
 * @return 0, or PGB_EINVALID
 */
PGB_EXTERN int pgb_options_set_from(pgb_options *opts, const char *key, const char *value,
                                    int source);

/**
 * Forget the value of an option, whatever its source: it has its default again.
 *
 * @return 0, or PGB_EINVALID for an unknown key
 */
PGB_EXTERN int pgb_options_unset(pgb_options *opts, const char *key);

/**
 * Read an option's value (for a list, the first value).
 *
 * @param opts   an option set
 * @param key    the option name
 * @param value  set to the value, or to NULL when the option is unset and has no
 *               default; owned by the set, valid until the option changes
 * @return 0, or PGB_EINVALID for an unknown key
 */
PGB_EXTERN int pgb_options_get(const pgb_options *opts, const char *key, const char **value);

/**
 * Read one value of a list option.
 *
 * @param value  set to the value at index; owned by the set
 * @return 0, PGB_ITEROVER when index is past the last value, or PGB_EINVALID
 */
PGB_EXTERN int pgb_options_get_at(const pgb_options *opts, const char *key, size_t index,
                                  const char **value);

/**
 * Where the current value of an option came from.
 *
 * @return a pgb_option_source, or PGB_EINVALID for an unknown key
 */
PGB_EXTERN int pgb_options_source(const pgb_options *opts, const char *key);

/**
 * Read an integer option.
 *
 * @param value  set to the number; 0 when unset without default
 * @return 0, or PGB_EINVALID for an unknown key or one that is not an integer
 */
PGB_EXTERN int pgb_options_get_int(const pgb_options *opts, const char *key, int64_t *value);

/**
 * Read a boolean option.
 *
 * @param value  set to 1 or 0; -1 when unset without default (an "automatic" choice)
 * @return 0, or PGB_EINVALID for an unknown key or one that is not a boolean
 */
PGB_EXTERN int pgb_options_get_bool(const pgb_options *opts, const char *key, int *value);

/**
 * Take options from environment variables named PGBACKUP_ + the upper-case
 * name with "-" as "_" (PGBACKUP_LOG_LEVEL). PGBACKUP_LIBRARY, which the
 * bindings read, is not an option and is passed over. Any other PGBACKUP_
 * variable that names no option is an error, with a suggestion.
 *
 * @param opts  an option set
 * @param envp  a NULL-terminated array of "NAME=value", or NULL for the
 *              process environment
 * @return 0, or PGB_EINVALID naming the variable at fault
 */
PGB_EXTERN int pgb_options_load_env(pgb_options *opts, const char *const *envp);

/**
 * Take options from an INI-style configuration file: "key = value" lines, keys
 * being option names, "#" or ";" comments, and an optional [global] section.
 *
 * @param opts  an option set
 * @param path  the file
 * @return 0, PGB_ENOTFOUND or PGB_EIO for a file that cannot be read, or
 *         PGB_EINVALID naming the file and line at fault
 */
PGB_EXTERN int pgb_options_load_file(pgb_options *opts, const char *path);

PGB_END_DECLS

#endif /* PGBACKUP_OPTIONS_H */
