#include "logical/sql_script.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"

void pgb_sql_statements_free(char **statements)
{
    for (size_t i = 0; statements && statements[i]; i++)
        free(statements[i]);
    free(statements);
}

static int is_ident(char c)
{
    return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

/* Length of a dollar-quote tag ("$$", "$body$") at p, or 0 when p starts none. */
static size_t dollar_tag(const char *p, const char *end)
{
    const char *q = p + 1;
    if (q < end && (isdigit((unsigned char)*q)))
        return 0;
    while (q < end && *q != '$' && (isalnum((unsigned char)*q) || *q == '_' || (unsigned char)*q >= 0x80))
        q++;
    return q < end && *q == '$' ? (size_t)(q - p + 1) : 0;
}

struct splitter {
    pgb_ctx *ctx;
    char **items;
    size_t count, capacity;
};

static int add(struct splitter *s, const char *start, const char *end)
{
    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    if (s->count + 2 > s->capacity) {
        size_t capacity = s->capacity ? s->capacity * 2 : 64;
        char **grown = realloc(s->items, capacity * sizeof(*grown));
        if (!grown)
            return pgb_error_nomem(s->ctx);
        s->items = grown;
        s->capacity = capacity;
    }
    char *copy = malloc((size_t)(end - start) + 1);
    if (!copy)
        return pgb_error_nomem(s->ctx);
    memcpy(copy, start, (size_t)(end - start));
    copy[end - start] = '\0';
    s->items[s->count++] = copy;
    s->items[s->count] = NULL;
    return PGB_OK;
}

int pgb_sql_split(pgb_ctx *ctx, const char *script, size_t size, char ***statements, size_t *count)
{
    struct splitter s = {.ctx = ctx};
    const char *p = script, *end = script + size, *start = script;
    int content = 0, rc = PGB_OK;
    *statements = NULL;
    *count = 0;
    while (rc == PGB_OK && p < end) {
        char c = *p;
        if (!content && c == '\\' && (p == script || p[-1] == '\n' || start == p)) {
            /* A psql meta-command: to the end of its line. */
            while (p < end && *p != '\n')
                p++;
            start = p;
        } else if (c == '-' && p + 1 < end && p[1] == '-') {
            while (p < end && *p != '\n')
                p++;
        } else if (c == '/' && p + 1 < end && p[1] == '*') {
            int depth = 0;
            while (p < end) {
                if (*p == '/' && p + 1 < end && p[1] == '*') {
                    depth++;
                    p += 2;
                } else if (*p == '*' && p + 1 < end && p[1] == '/') {
                    p += 2;
                    if (--depth == 0)
                        break;
                } else {
                    p++;
                }
            }
        } else if (c == '\'') {
            /* E'...' takes backslash escapes; a plain literal does not (standard_conforming_strings). */
            int escapes = p > script && (p[-1] == 'E' || p[-1] == 'e') && (p - 1 == script || !is_ident(p[-2]));
            content = 1;
            for (p++; p < end; p++) {
                if (escapes && *p == '\\' && p + 1 < end) {
                    p++;
                } else if (*p == '\'') {
                    if (p + 1 < end && p[1] == '\'')
                        p++;
                    else
                        break;
                }
            }
            if (p < end)
                p++;
        } else if (c == '"') {
            content = 1;
            for (p++; p < end; p++)
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"')
                        p++;
                    else
                        break;
                }
            if (p < end)
                p++;
        } else if (c == '$' && (p == script || !is_ident(p[-1])) && dollar_tag(p, end)) {
            size_t tag = dollar_tag(p, end);
            const char *body = p + tag;
            p = body;
            while (p < end && !((size_t)(end - p) >= tag && memcmp(p, body - tag, tag) == 0))
                p++;
            p = p < end ? p + tag : end;
            content = 1;
        } else if (c == ';') {
            if (content)
                rc = add(&s, start, p);
            start = ++p;
            content = 0;
        } else {
            if (!isspace((unsigned char)c))
                content = 1;
            p++;
        }
    }
    if (rc == PGB_OK && content)
        rc = add(&s, start, end);
    if (rc != PGB_OK) {
        pgb_sql_statements_free(s.items);
        return rc;
    }
    if (!s.items && !(s.items = calloc(1, sizeof(*s.items))))
        return pgb_error_nomem(ctx);
    *statements = s.items;
    *count = s.count;
    return PGB_OK;
}
