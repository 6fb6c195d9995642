#include "manifest/checksum.h"

#include <openssl/evp.h>

#include <pgbackup/error.h>

#include "core/text.h"
#include "manifest/crc32c.h"

static const struct {
    enum pgb_checksum_type type;
    const char *name;
    size_t size;
} checksum_types[] = {
    {PGB_CHECKSUM_NONE, "NONE", 0},      {PGB_CHECKSUM_CRC32C, "CRC32C", 4},
    {PGB_CHECKSUM_SHA224, "SHA224", 28}, {PGB_CHECKSUM_SHA256, "SHA256", 32},
    {PGB_CHECKSUM_SHA384, "SHA384", 48}, {PGB_CHECKSUM_SHA512, "SHA512", 64},
};
enum { CHECKSUM_TYPE_COUNT = sizeof(checksum_types) / sizeof(checksum_types[0]) };

const char *pgb_checksum_type_name(enum pgb_checksum_type type)
{
    for (int i = 0; i < CHECKSUM_TYPE_COUNT; i++)
        if (checksum_types[i].type == type)
            return checksum_types[i].name;
    return NULL;
}

int pgb_checksum_type_from_name(const char *name, enum pgb_checksum_type *type)
{
    for (int i = 0; name && i < CHECKSUM_TYPE_COUNT; i++) {
        if (pgb_text_equal_nocase(name, checksum_types[i].name)) {
            *type = checksum_types[i].type;
            return 0;
        }
    }
    return -1;
}

size_t pgb_checksum_type_size(enum pgb_checksum_type type)
{
    for (int i = 0; i < CHECKSUM_TYPE_COUNT; i++)
        if (checksum_types[i].type == type)
            return checksum_types[i].size;
    return 0;
}

static const EVP_MD *digest_of(enum pgb_checksum_type type)
{
    switch (type) {
    case PGB_CHECKSUM_SHA224:
        return EVP_sha224();
    case PGB_CHECKSUM_SHA256:
        return EVP_sha256();
    case PGB_CHECKSUM_SHA384:
        return EVP_sha384();
    case PGB_CHECKSUM_SHA512:
        return EVP_sha512();
    default:
        return NULL;
    }
}

int pgb_checksum_init(struct pgb_checksum *checksum, enum pgb_checksum_type type)
{
    checksum->type = type;
    checksum->crc = pgb_crc32c_init();
    checksum->digest = NULL;
    if (type == PGB_CHECKSUM_NONE || type == PGB_CHECKSUM_CRC32C)
        return PGB_OK;
    const EVP_MD *md = digest_of(type);
    if (!md)
        return PGB_EINVALID;
    if (!(checksum->digest = EVP_MD_CTX_new()))
        return PGB_ENOMEM;
    if (EVP_DigestInit_ex(checksum->digest, md, NULL) != 1) {
        pgb_checksum_cleanup(checksum);
        return PGB_ERROR;
    }
    return PGB_OK;
}

int pgb_checksum_update(struct pgb_checksum *checksum, const void *data, size_t size)
{
    if (checksum->type == PGB_CHECKSUM_CRC32C)
        checksum->crc = pgb_crc32c_update(checksum->crc, data, size);
    else if (checksum->digest && EVP_DigestUpdate(checksum->digest, data, size) != 1)
        return PGB_ERROR;
    return PGB_OK;
}

int pgb_checksum_final(struct pgb_checksum *checksum, uint8_t out[PGB_CHECKSUM_MAX_SIZE], size_t *size)
{
    int rc = PGB_OK;
    *size = 0;
    if (checksum->type == PGB_CHECKSUM_CRC32C) {
        uint32_t crc = pgb_crc32c_final(checksum->crc);
        for (int i = 0; i < 4; i++)
            out[i] = (uint8_t)(crc >> (8 * i));
        *size = 4;
    } else if (checksum->digest) {
        unsigned int length = 0;
        if (EVP_DigestFinal_ex(checksum->digest, out, &length) == 1)
            *size = length;
        else
            rc = PGB_ERROR;
    }
    pgb_checksum_cleanup(checksum);
    return rc;
}

void pgb_checksum_cleanup(struct pgb_checksum *checksum)
{
    EVP_MD_CTX_free(checksum->digest);
    checksum->digest = NULL;
}
