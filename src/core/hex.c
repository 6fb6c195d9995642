#include "core/hex.h"

#include <string.h>

#include <pgbackup/error.h>

#include "core/error.h"

void pgb_hex_encode(const uint8_t *data, size_t size, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0x0f];
    }
    out[2 * size] = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int pgb_hex_decode(pgb_ctx *ctx, const char *hex, uint8_t *out, size_t size)
{
    if (!hex)
        return pgb_error_set(ctx, PGB_EINVALID, "no hex string given (NULL)");
    /* Quote at most 80 characters: the text may come from a damaged file. */
    if (strlen(hex) != 2 * size)
        return pgb_error_set(ctx, PGB_EINVALID, "invalid hex string '%.80s': expected %zu digits",
                             hex, 2 * size);
    for (size_t i = 0; i < size; i++) {
        int high = hex_digit(hex[2 * i]), low = hex_digit(hex[2 * i + 1]);
        if (high < 0 || low < 0)
            return pgb_error_set(ctx, PGB_EINVALID,
                                 "invalid hex string '%.80s': not a hex digit at position %zu", hex,
                                 high < 0 ? 2 * i : 2 * i + 1);
        out[i] = (uint8_t)(high << 4 | low);
    }
    return PGB_OK;
}
