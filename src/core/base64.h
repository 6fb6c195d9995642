/*
 * Standard base64 (RFC 4648 section 4, with padding), as keyring.json stores
 * keys, salts and sealed secrets.
 */
#ifndef PGB_CORE_BASE64_H
#define PGB_CORE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Length of the text for size bytes, without the terminating NUL. */
size_t pgb_base64_encoded_length(size_t size);

/* The base64 text of data, NUL-terminated; free with free(). NULL when out of memory. */
char *pgb_base64_encode(const uint8_t *data, size_t size);

/*
 * Decode the length characters of text into out, which holds capacity bytes,
 * and set *size. Only canonical padded base64 is accepted: no white space, no
 * missing padding, no stray bits. Sets no error in any context, so that the
 * caller can say what was being decoded. Returns 0, or PGB_EINVALID when text
 * is not such base64 or decodes to more than capacity bytes.
 */
int pgb_base64_decode(const char *text, size_t length, uint8_t *out, size_t capacity, size_t *size);

#endif
