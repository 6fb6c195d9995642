/*
 * File checksums of backup manifests: CRC-32C gives the Castagnoli check value
 * and PostgreSQL's byte order, the hardware and table paths agree, streaming in
 * pieces gives the digest of the whole, and the SHA family gives the standard
 * digests.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include <pgbackup/pgbackup.h>

#include "core/hex.h"
#include "manifest/checksum.h"
#include "manifest/crc32c.h"
#include "test_main.h"

/* Checksum data in pieces of chunk bytes; returns the hex the manifest would show. */
static void checksum_hex(enum pgb_checksum_type type, const void *data, size_t size, size_t chunk, char *hex)
{
    struct pgb_checksum checksum;
    CU_ASSERT_EQUAL_FATAL(pgb_checksum_init(&checksum, type), PGB_OK);
    const unsigned char *p = data;
    for (size_t offset = 0; offset < size; offset += chunk)
        CU_ASSERT_EQUAL(pgb_checksum_update(&checksum, p + offset, size - offset < chunk ? size - offset : chunk),
                        PGB_OK);
    uint8_t out[PGB_CHECKSUM_MAX_SIZE];
    size_t length = 0;
    CU_ASSERT_EQUAL(pgb_checksum_final(&checksum, out, &length), PGB_OK);
    CU_ASSERT_EQUAL(length, pgb_checksum_type_size(type));
    pgb_hex_encode(out, length, hex);
}

static void test_crc32c_check_value_in_manifest_byte_order(void)
{
    uint32_t crc = pgb_crc32c_final(pgb_crc32c_update(pgb_crc32c_init(), "123456789", 9));
    CU_ASSERT_EQUAL(crc, 0xE3069283u);
    char hex[2 * PGB_CHECKSUM_MAX_SIZE + 1];
    checksum_hex(PGB_CHECKSUM_CRC32C, "123456789", 9, 9, hex);
    CU_ASSERT_STRING_EQUAL(hex, "839206e3");
    checksum_hex(PGB_CHECKSUM_CRC32C, "123456789", 9, 1, hex);
    CU_ASSERT_STRING_EQUAL(hex, "839206e3");
    checksum_hex(PGB_CHECKSUM_CRC32C, "", 0, 1, hex);
    CU_ASSERT_STRING_EQUAL(hex, "00000000");
}

static void test_crc32c_hardware_and_table_agree_at_every_alignment(void)
{
    enum { SIZE = 4099 };
    unsigned char *data = malloc(SIZE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    srand(4);
    for (size_t i = 0; i < SIZE; i++)
        data[i] = (unsigned char)rand();
    for (size_t start = 0; start < 9; start++) {
        for (size_t length = 0; length + start <= SIZE; length += 37) {
            uint32_t fast = pgb_crc32c_update(pgb_crc32c_init(), data + start, length);
            uint32_t table = pgb_crc32c_update_portable(pgb_crc32c_init(), data + start, length);
            CU_ASSERT_EQUAL(fast, table);
        }
    }
    /* Streaming: two halves equal the whole. */
    uint32_t whole = pgb_crc32c_update(pgb_crc32c_init(), data, SIZE);
    uint32_t halves = pgb_crc32c_update(pgb_crc32c_update(pgb_crc32c_init(), data, 1000), data + 1000, SIZE - 1000);
    CU_ASSERT_EQUAL(whole, halves);
    free(data);
}

static void test_sha_family_gives_standard_digests(void)
{
    char hex[2 * PGB_CHECKSUM_MAX_SIZE + 1];
    checksum_hex(PGB_CHECKSUM_SHA256, "abc", 3, 1, hex);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    checksum_hex(PGB_CHECKSUM_SHA224, "abc", 3, 2, hex);
    CU_ASSERT_STRING_EQUAL(hex, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
    checksum_hex(PGB_CHECKSUM_SHA384, "abc", 3, 3, hex);
    CU_ASSERT_STRING_EQUAL(hex, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                                "8086072ba1e7cc2358baeca134c825a7");
    checksum_hex(PGB_CHECKSUM_SHA512, "abc", 3, 1, hex);
    CU_ASSERT_STRING_EQUAL(hex, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                                "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

static void test_algorithm_names_are_the_manifests(void)
{
    enum pgb_checksum_type type = PGB_CHECKSUM_NONE;
    CU_ASSERT_EQUAL(pgb_checksum_type_from_name("crc32c", &type), 0);
    CU_ASSERT_EQUAL(type, PGB_CHECKSUM_CRC32C);
    CU_ASSERT_EQUAL(pgb_checksum_type_from_name("SHA512", &type), 0);
    CU_ASSERT_EQUAL(type, PGB_CHECKSUM_SHA512);
    CU_ASSERT_EQUAL(pgb_checksum_type_from_name("MD5", &type), -1);
    CU_ASSERT_STRING_EQUAL(pgb_checksum_type_name(PGB_CHECKSUM_SHA224), "SHA224");
    CU_ASSERT_EQUAL(pgb_checksum_type_size(PGB_CHECKSUM_NONE), 0);
    CU_ASSERT_EQUAL(pgb_checksum_type_size(PGB_CHECKSUM_SHA384), 48);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"crc32c_check_value_in_manifest_byte_order", test_crc32c_check_value_in_manifest_byte_order},
        {"crc32c_hardware_and_table_agree_at_every_alignment", test_crc32c_hardware_and_table_agree_at_every_alignment},
        {"sha_family_gives_standard_digests", test_sha_family_gives_standard_digests},
        {"algorithm_names_are_the_manifests", test_algorithm_names_are_the_manifests},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"file_checksum", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
