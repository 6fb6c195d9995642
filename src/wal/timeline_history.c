/*
 * Parsing timeline history files as PostgreSQL's readTimeLineHistory() does
 * (src/backend/access/transam/timeline.c): each line names an ancestor and
 * the LSN at which its child branched off; ancestors come oldest first and
 * switch points never go back.
 */
#include "wal/timeline_history.h"

#include <stdlib.h>
#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"
#include "pg/lsn.h"

static int append(pgb_ctx *ctx, struct pgb_timeline_path *path, uint32_t timeline, uint64_t begin, uint64_t end)
{
    struct pgb_timeline_step *grown = realloc(path->steps, (path->count + 1) * sizeof(*grown));
    if (!grown)
        return pgb_error_nomem(ctx);
    path->steps = grown;
    path->steps[path->count++] = (struct pgb_timeline_step){timeline, begin, end};
    return PGB_OK;
}

/* One non-comment line: "parent<TAB or space>X/Y[<TAB>reason]". */
static int parse_line(pgb_ctx *ctx, const char *what, size_t number, const char *line, uint32_t *parent,
                      uint64_t *switch_point)
{
    char *end = NULL;
    unsigned long tli = strtoul(line, &end, 10);
    if (end == line || tli == 0 || tli > UINT32_MAX || (*end != '\t' && *end != ' '))
        return pgb_error_set(ctx, PGB_ECORRUPT, "timeline history %s is damaged: line %zu does not begin with a "
                             "timeline number", what, number);
    while (*end == '\t' || *end == ' ')
        end++;
    char lsn_text[PGB_LSN_TEXT_SIZE];
    size_t len = strcspn(end, "\t \r");
    if (len == 0 || len >= sizeof(lsn_text))
        return pgb_error_set(ctx, PGB_ECORRUPT, "timeline history %s is damaged: line %zu has no switch point",
                             what, number);
    memcpy(lsn_text, end, len);
    lsn_text[len] = '\0';
    if (pgb_lsn_parse(NULL, lsn_text, switch_point) != PGB_OK)
        return pgb_error_set(ctx, PGB_ECORRUPT, "timeline history %s is damaged: line %zu has switch point '%s'",
                             what, number, lsn_text);
    *parent = (uint32_t)tli;
    return PGB_OK;
}

int pgb_timeline_path_parse(pgb_ctx *ctx, const char *what, const char *text, uint32_t timeline,
                            struct pgb_timeline_path *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t begin = 0;
    size_t number = 0;
    int rc = PGB_OK;
    for (const char *line = text; rc == PGB_OK && line && *line;) {
        const char *newline = strchr(line, '\n');
        size_t len = newline ? (size_t)(newline - line) : strlen(line);
        number++;
        char copy[512];
        if (len >= sizeof(copy))
            len = sizeof(copy) - 1;
        memcpy(copy, line, len);
        copy[len] = '\0';
        const char *first = copy + strspn(copy, " \t\r");
        if (*first != '\0' && *first != '#') {
            uint32_t parent = 0;
            uint64_t switch_point = 0;
            rc = parse_line(ctx, what, number, first, &parent, &switch_point);
            uint32_t previous = out->count ? out->steps[out->count - 1].timeline : 0;
            if (rc == PGB_OK && (parent <= previous || parent >= timeline))
                rc = pgb_error_set(ctx, PGB_ECORRUPT, "timeline history %s is damaged: line %zu names timeline %u "
                                   "out of order", what, number, parent);
            else if (rc == PGB_OK && switch_point < begin)
                rc = pgb_error_set(ctx, PGB_ECORRUPT, "timeline history %s is damaged: line %zu goes back in WAL",
                                   what, number);
            if (rc == PGB_OK)
                rc = append(ctx, out, parent, begin, switch_point);
            begin = switch_point;
        }
        line = newline ? newline + 1 : NULL;
    }
    if (rc == PGB_OK && text && out->count == 0)
        rc = pgb_error_set(ctx, PGB_ECORRUPT, "timeline history %s is damaged: it names no parent timeline", what);
    if (rc == PGB_OK)
        rc = append(ctx, out, timeline, begin, PGB_TIMELINE_OPEN);
    if (rc != PGB_OK)
        pgb_timeline_path_clear(out);
    return rc;
}

const struct pgb_timeline_step *pgb_timeline_path_find(const struct pgb_timeline_path *path, uint32_t timeline)
{
    for (size_t i = 0; i < path->count; i++)
        if (path->steps[i].timeline == timeline)
            return &path->steps[i];
    return NULL;
}

const struct pgb_timeline_step *pgb_timeline_path_at(const struct pgb_timeline_path *path, uint64_t lsn)
{
    for (size_t i = 0; i < path->count; i++)
        if (lsn < path->steps[i].end)
            return &path->steps[i];
    return path->count ? &path->steps[path->count - 1] : NULL;
}

void pgb_timeline_path_clear(struct pgb_timeline_path *path)
{
    free(path->steps);
    path->steps = NULL;
    path->count = 0;
}
