#include "manifest/utf8.h"

#include <stdlib.h>
#include <string.h>

size_t pgb_utf8_sequence_length(const unsigned char *s, size_t size)
{
    if (size == 0 || s[0] == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    size_t length;
    unsigned char low = 0x80, high = 0xBF; /* allowed range of the second byte */
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        length = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        length = 3;
        if (s[0] == 0xE0)
            low = 0xA0; /* overlong */
        else if (s[0] == 0xED)
            high = 0x9F; /* surrogates */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        length = 4;
        if (s[0] == 0xF0)
            low = 0x90; /* overlong */
        else if (s[0] == 0xF4)
            high = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (size < length || s[1] < low || s[1] > high)
        return 0;
    for (size_t i = 2; i < length; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return length;
}

int pgb_utf8_is_valid(const char *s, size_t size)
{
    const unsigned char *p = (const unsigned char *)s;
    while (size > 0) {
        size_t length = pgb_utf8_sequence_length(p, size);
        if (length == 0)
            return 0;
        p += length;
        size -= length;
    }
    return 1;
}

char *pgb_utf8_sanitized(const char *s)
{
    size_t size = strlen(s);
    char *out = malloc(3 * size + 1); /* each bad byte becomes 3 bytes */
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t used = 0;
    while (size > 0) {
        size_t length = pgb_utf8_sequence_length(p, size);
        if (length == 0) {
            memcpy(out + used, "\xEF\xBF\xBD", 3);
            used += 3;
            length = 1;
        } else {
            memcpy(out + used, p, length);
            used += length;
        }
        p += length;
        size -= length;
    }
    out[used] = '\0';
    return out;
}
