#include "core/base64.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <pgbackup/error.h>

/* OpenSSL's block functions count in int. */
#define MAX_BINARY_SIZE ((size_t)INT_MAX / 4 * 3)

size_t pgb_base64_encoded_length(size_t size)
{
    return (size + 2) / 3 * 4;
}

char *pgb_base64_encode(const uint8_t *data, size_t size)
{
    if (size > MAX_BINARY_SIZE)
        return NULL;
    char *text = malloc(pgb_base64_encoded_length(size) + 1);
    if (!text)
        return NULL;
    /* EVP_EncodeBlock pads and terminates; for size 0 it writes just the NUL. */
    EVP_EncodeBlock((unsigned char *)text, data, (int)size);
    return text;
}

static int is_alphabet(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

static unsigned sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (unsigned)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (unsigned)(c - 'a') + 26;
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0') + 52;
    return c == '+' ? 62 : 63;
}

/* Count of '=' at the end, or -1 when text is not canonical padded base64. */
static int check_text(const char *text, size_t length)
{
    if (length % 4 != 0)
        return -1;
    int padding = 0;
    if (length > 0 && text[length - 1] == '=')
        padding = (length > 1 && text[length - 2] == '=') ? 2 : 1;
    for (size_t i = 0; i < length - (size_t)padding; i++)
        if (!is_alphabet(text[i]))
            return -1;
    /* The bits after the last byte must be zero, or two texts would give one value. */
    if (padding == 1 && (sextet(text[length - 2]) & 0x3) != 0)
        return -1;
    if (padding == 2 && (sextet(text[length - 3]) & 0xf) != 0)
        return -1;
    return padding;
}

int pgb_base64_decode(const char *text, size_t length, uint8_t *out, size_t capacity, size_t *size)
{
    *size = 0;
    int padding = check_text(text, length);
    if (padding < 0 || length / 4 * 3 > MAX_BINARY_SIZE)
        return PGB_EINVALID;
    size_t decoded = length / 4 * 3 - (size_t)padding;
    if (decoded > capacity)
        return PGB_EINVALID;
    if (length == 0)
        return PGB_OK;
    /* EVP_DecodeBlock writes 3 bytes for every group, padding included, so the
     * last group goes through a small buffer and only its real bytes are kept. */
    size_t head = length - 4;
    uint8_t last[3];
    if ((head > 0 &&
         EVP_DecodeBlock(out, (const unsigned char *)text, (int)head) != (int)(head / 4 * 3)) ||
        EVP_DecodeBlock(last, (const unsigned char *)text + head, 4) != 3)
        return PGB_EINVALID;
    memcpy(out + head / 4 * 3, last, 3 - (size_t)padding);
    OPENSSL_cleanse(last, sizeof(last));
    *size = decoded;
    return PGB_OK;
}
