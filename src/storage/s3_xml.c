/*
 * Finding S3's elements by name. Every search is bounded by the span it is
 * given: the body need not be NUL-terminated and may be cut anywhere.
 */
#include "storage/s3_xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *find(const char *from, const char *end, const char *needle, size_t n)
{
    for (const char *p = from; p + n <= end; p++) {
        p = memchr(p, needle[0], (size_t)(end - p));
        if (!p || p + n > end)
            return NULL;
        if (memcmp(p, needle, n) == 0)
            return p;
    }
    return NULL;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int s3_xml_next(struct s3_xml_span within, const char **cursor, const char *name, struct s3_xml_span *inner)
{
    const char *end = within.start + within.length;
    const char *p = cursor && *cursor ? *cursor : within.start;
    size_t n = strlen(name);
    while (p < end) {
        const char *open = find(p, end, "<", 1);
        if (!open || open + 1 + n >= end)
            return 0;
        p = open + 1;
        if (memcmp(p, name, n) != 0)
            continue;
        char after = p[n];
        if (after != '>' && after != '/' && !is_space(after))
            continue; /* <Keys> is not <Key> */
        const char *close = find(p + n, end, ">", 1);
        if (!close)
            return 0;
        if (close[-1] == '/') { /* <name/> */
            inner->start = close + 1;
            inner->length = 0;
            if (cursor)
                *cursor = close + 1;
            return 1;
        }
        const char *content = close + 1;
        for (const char *q = content; q < end;) {
            const char *tag = find(q, end, "</", 2);
            if (!tag || tag + 2 + n > end)
                return 0;
            const char *t = tag + 2 + n;
            if (memcmp(tag + 2, name, n) == 0) {
                while (t < end && is_space(*t))
                    t++;
                if (t < end && *t == '>') {
                    inner->start = content;
                    inner->length = (size_t)(tag - content);
                    if (cursor)
                        *cursor = t + 1;
                    return 1;
                }
            }
            q = tag + 2;
        }
        return 0;
    }
    return 0;
}

/* Append the UTF-8 encoding of code point cp; returns bytes written (0 if invalid). */
static size_t utf8(uint32_t cp, char *out)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *s3_xml_decode(struct s3_xml_span span)
{
    /* Decoding never lengthens: every entity is at least as long as its UTF-8 text. */
    char *out = malloc(span.length + 1);
    if (!out)
        return NULL;
    static const struct {
        const char *name;
        char value;
    } named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    const char *p = span.start, *end = span.start + span.length;
    char *o = out;
    while (p < end) {
        if (*p != '&') {
            *o++ = *p++;
            continue;
        }
        size_t left = (size_t)(end - p - 1);
        int done = 0;
        for (size_t i = 0; i < sizeof(named) / sizeof(named[0]) && !done; i++) {
            size_t n = strlen(named[i].name);
            if (left >= n && memcmp(p + 1, named[i].name, n) == 0) {
                *o++ = named[i].value;
                p += 1 + n;
                done = 1;
            }
        }
        if (!done && left >= 2 && p[1] == '#') {
            const char *q = p + 2;
            int hex = q < end && (*q == 'x' || *q == 'X');
            if (hex)
                q++;
            uint32_t cp = 0;
            const char *digits = q;
            while (q < end && q - digits < 8 &&
                   ((*q >= '0' && *q <= '9') || (hex && ((*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F'))))) {
                int d = *q <= '9' ? *q - '0' : (*q | 0x20) - 'a' + 10;
                cp = cp * (hex ? 16u : 10u) + (uint32_t)d;
                q++;
            }
            /* "&#N;" is at least 4 bytes, and its UTF-8 at most 4. */
            size_t written;
            if (q > digits && q < end && *q == ';' && (written = utf8(cp, o)) > 0 &&
                written <= (size_t)(q + 1 - p)) {
                o += written;
                p = q + 1;
                done = 1;
            }
        }
        if (!done)
            *o++ = *p++; /* a lone '&' stays as it is */
    }
    *o = '\0';
    return out;
}

char *s3_xml_text(struct s3_xml_span within, const char *name)
{
    struct s3_xml_span inner;
    if (!s3_xml_next(within, NULL, name, &inner))
        return NULL;
    return s3_xml_decode(inner);
}

char *s3_xml_escape(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '&' ? 5 : *p == '<' || *p == '>' ? 4 : *p == '"' || *p == '\'' ? 6 : 1;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *p = text; *p; p++) {
        const char *entity = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '"' ? "&quot;"
                             : *p == '\'' ? "&apos;" : NULL;
        if (entity) {
            memcpy(o, entity, strlen(entity));
            o += strlen(entity);
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}
