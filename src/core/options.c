#include "core/options.h"

#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/context.h"
#include "core/error.h"
#include "core/handle.h"
#include "core/option_registry.h"
#include "core/text.h"

/* ---- registry accessors ---- */

size_t pgb_option_count(void)
{
    return pgb_option_registry_size;
}

int pgb_option_find(const char *name)
{
    const struct pgb_option_spec *spec = pgb_option_spec_find(name);
    return spec ? (int)(spec - pgb_option_registry) : -1;
}

static const struct pgb_option_spec *spec_at(size_t i)
{
    return i < pgb_option_registry_size ? &pgb_option_registry[i] : NULL;
}

const char *pgb_option_name(size_t i) { return spec_at(i) ? spec_at(i)->name : NULL; }
int pgb_option_type_of(size_t i) { return spec_at(i) ? spec_at(i)->type : PGB_EINVALID; }
const char *pgb_option_default(size_t i) { return spec_at(i) ? spec_at(i)->default_value : NULL; }
const char *pgb_option_help(size_t i) { return spec_at(i) ? spec_at(i)->help : NULL; }
const char *pgb_option_value_hint(size_t i) { return spec_at(i) ? spec_at(i)->value_hint : NULL; }

/* ---- option sets ---- */

int pgb_options_is_valid(const pgb_options *opts)
{
    return opts != NULL && opts->magic == PGB_MAGIC_OPTIONS && pgb_ctx_is_valid(opts->ctx);
}

static void clear_slot(struct pgb_option_value *slot)
{
    for (size_t i = 0; i < slot->count; i++)
        free(slot->values[i]);
    free(slot->values);
    *slot = (struct pgb_option_value){0};
}

int pgb_options_new(pgb_options **out, pgb_ctx *ctx)
{
    if (!pgb_ctx_is_valid(ctx))
        return PGB_EINVALID;
    pgb_error_clear(ctx);
    if (!out)
        return pgb_error_set(ctx, PGB_EINVALID, "pgb_options_new: out is NULL");
    *out = NULL;
    pgb_options *opts = calloc(1, sizeof(*opts));
    if (!opts)
        return pgb_error_nomem(ctx);
    opts->slots = calloc(pgb_option_registry_size, sizeof(*opts->slots));
    if (!opts->slots) {
        free(opts);
        return pgb_error_nomem(ctx);
    }
    opts->magic = PGB_MAGIC_OPTIONS;
    opts->ctx = ctx;
    *out = opts;
    return PGB_OK;
}

void pgb_options_free(pgb_options *opts)
{
    if (!opts || opts->magic != PGB_MAGIC_OPTIONS)
        return;
    for (size_t i = 0; i < pgb_option_registry_size; i++)
        clear_slot(&opts->slots[i]);
    free(opts->slots);
    opts->magic = PGB_MAGIC_FREED;
    free(opts);
}

static int unknown_key(pgb_ctx *ctx, const char *key, const char *origin)
{
    const char *closest = pgb_option_closest(key);
    const char *where = origin ? origin : "";
    const char *colon = origin ? ": " : "";
    if (closest)
        return pgb_error_set(ctx, PGB_EINVALID, "%s%sunknown option '%s'; did you mean '%s'?", where, colon,
                             key, closest);
    return pgb_error_set(ctx, PGB_EINVALID, "%s%sunknown option '%s'", where, colon, key);
}

static const struct pgb_option_spec *lookup(const pgb_options *opts, const char *key)
{
    if (!key) {
        pgb_error_set(opts->ctx, PGB_EINVALID, "option name is NULL");
        return NULL;
    }
    const struct pgb_option_spec *spec = pgb_option_spec_find(key);
    if (!spec)
        unknown_key(opts->ctx, key, NULL);
    return spec;
}

int pgb_options_assign(pgb_options *opts, const char *key, const char *value, int source,
                       const char *origin)
{
    pgb_ctx *ctx = opts->ctx;
    if (source < PGB_SOURCE_FILE || source > PGB_SOURCE_EXPLICIT)
        return pgb_error_set(ctx, PGB_EINVALID, "option source %d is not a pgb_option_source", source);
    if (!key)
        return pgb_error_set(ctx, PGB_EINVALID, "option name is NULL");
    const struct pgb_option_spec *spec = pgb_option_spec_find(key);
    if (!spec)
        return unknown_key(ctx, key, origin);
    char reason[256];
    if (pgb_option_check(spec, value, reason, sizeof(reason)) != 0) {
        if (origin)
            return pgb_error_set(ctx, PGB_EINVALID, "%s: invalid value '%s' for %s: %s", origin,
                                 value ? value : "", spec->name, reason);
        return pgb_error_set(ctx, PGB_EINVALID, "invalid value '%s' for %s: %s", value ? value : "",
                             spec->name, reason);
    }

    struct pgb_option_value *slot = &opts->slots[spec - pgb_option_registry];
    if (slot->count > 0 && slot->source > source)
        return PGB_OK; /* a higher source already decided this option */

    char *copy = pgb_text_dup(value);
    if (!copy)
        return pgb_error_nomem(ctx);
    int append = spec->type == PGB_OPTION_LIST && slot->count > 0 && slot->source == source;
    if (!append)
        clear_slot(slot);
    char **grown = realloc(slot->values, (slot->count + 1) * sizeof(*grown));
    if (!grown) {
        free(copy);
        return pgb_error_nomem(ctx);
    }
    grown[slot->count] = copy;
    slot->values = grown;
    slot->count++;
    slot->source = source;
    return PGB_OK;
}

int pgb_options_set(pgb_options *opts, const char *key, const char *value)
{
    return pgb_options_set_from(opts, key, value, PGB_SOURCE_EXPLICIT);
}

int pgb_options_set_from(pgb_options *opts, const char *key, const char *value, int source)
{
    if (!pgb_options_is_valid(opts))
        return PGB_EINVALID;
    pgb_error_clear(opts->ctx);
    return pgb_options_assign(opts, key, value, source, NULL);
}

int pgb_options_unset(pgb_options *opts, const char *key)
{
    if (!pgb_options_is_valid(opts))
        return PGB_EINVALID;
    pgb_error_clear(opts->ctx);
    const struct pgb_option_spec *spec = lookup(opts, key);
    if (!spec)
        return PGB_EINVALID;
    clear_slot(&opts->slots[spec - pgb_option_registry]);
    return PGB_OK;
}

int pgb_options_get_at(const pgb_options *opts, const char *key, size_t index, const char **value)
{
    if (!pgb_options_is_valid(opts))
        return PGB_EINVALID;
    pgb_error_clear(opts->ctx);
    if (!value)
        return pgb_error_set(opts->ctx, PGB_EINVALID, "pgb_options_get: value is NULL");
    *value = NULL;
    const struct pgb_option_spec *spec = lookup(opts, key);
    if (!spec)
        return PGB_EINVALID;
    const struct pgb_option_value *slot = &opts->slots[spec - pgb_option_registry];
    if (slot->count == 0) {
        if (index == 0 && spec->default_value) {
            *value = spec->default_value;
            return PGB_OK;
        }
        return index == 0 && spec->type != PGB_OPTION_LIST ? PGB_OK : PGB_ITEROVER;
    }
    if (index >= slot->count)
        return PGB_ITEROVER;
    *value = slot->values[index];
    return PGB_OK;
}

int pgb_options_get(const pgb_options *opts, const char *key, const char **value)
{
    int rc = pgb_options_get_at(opts, key, 0, value);
    return rc == PGB_ITEROVER ? PGB_OK : rc; /* an empty list reads as NULL */
}

int pgb_options_source(const pgb_options *opts, const char *key)
{
    if (!pgb_options_is_valid(opts))
        return PGB_EINVALID;
    pgb_error_clear(opts->ctx);
    const struct pgb_option_spec *spec = lookup(opts, key);
    if (!spec)
        return PGB_EINVALID;
    const struct pgb_option_value *slot = &opts->slots[spec - pgb_option_registry];
    return slot->count ? slot->source : PGB_SOURCE_DEFAULT;
}

static int typed_value(const pgb_options *opts, const char *key, int type, const char **value)
{
    if (!pgb_options_is_valid(opts))
        return PGB_EINVALID;
    int rc = pgb_options_get(opts, key, value);
    if (rc != PGB_OK)
        return rc;
    const struct pgb_option_spec *spec = pgb_option_spec_find(key);
    if (spec->type != type)
        return pgb_error_set(opts->ctx, PGB_EINVALID, "option %s is not %s", spec->name,
                             type == PGB_OPTION_INTEGER ? "an integer" : "a boolean");
    return PGB_OK;
}

int pgb_options_get_int(const pgb_options *opts, const char *key, int64_t *value)
{
    const char *text = NULL;
    if (!value)
        return PGB_EINVALID;
    *value = 0;
    int rc = typed_value(opts, key, PGB_OPTION_INTEGER, &text);
    if (rc == PGB_OK && text)
        *value = strtoll(text, NULL, 10); /* checked when set */
    return rc;
}

int pgb_options_get_bool(const pgb_options *opts, const char *key, int *value)
{
    const char *text = NULL;
    if (!value)
        return PGB_EINVALID;
    *value = -1;
    int rc = typed_value(opts, key, PGB_OPTION_BOOLEAN, &text);
    if (rc == PGB_OK && text)
        *value = pgb_option_parse_bool(text);
    return rc;
}
