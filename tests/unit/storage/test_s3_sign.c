/*
 * AWS Signature Version 4, proven on its own because s3rver does not check
 * signatures: AWS's published examples (the Signature Version 4 test suite and
 * the S3 API reference's header-based examples), then many generated requests
 * signed by botocore and by the library, compared byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "storage/s3_sign.h"
#include "test_main.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static void check_signature(const char *method, const char *uri, const char *query,
                            const struct pgb_sigv4_header *headers, size_t count, const char *payload,
                            const char *date, const char *service, const char *access, const char *secret,
                            const char *expected_signature)
{
    struct pgb_sigv4_input in = {method, uri, query, headers, count, payload, date, "us-east-1", service,
                                 access, secret};
    struct pgb_sigv4_output out;
    CU_ASSERT_EQUAL_FATAL(pgb_sigv4_sign(&in, &out), 0);
    CU_ASSERT_STRING_EQUAL(out.signature, expected_signature);
    if (strcmp(out.signature, expected_signature) != 0)
        fprintf(stderr, "\ncanonical request:\n%s\nstring to sign:\n%s\n", out.canonical_request,
                out.string_to_sign);
    pgb_sigv4_output_free(&out);
}

/* The Signature Version 4 test suite (service "service", 2015-08-30T12:36:00Z, AKIDEXAMPLE). */
static void test_aws_test_suite_examples(void)
{
    const struct pgb_sigv4_header vanilla[] = {{"Host", "example.amazonaws.com"},
                                               {"X-Amz-Date", "20150830T123600Z"}};
    const char *date = "20150830T123600Z";
    /* get-vanilla */
    check_signature("GET", "/", "", vanilla, 2, EMPTY_SHA256, date, "service", "AKIDEXAMPLE", SUITE_SECRET,
                    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    /* get-vanilla-query-order-key-case: GET /?Param2=value2&Param1=value1 */
    struct pgb_sigv4_pair pairs[] = {{"Param2", "value2"}, {"Param1", "value1"}};
    char *query = pgb_sigv4_query(pairs, 2);
    CU_ASSERT_STRING_EQUAL(query, "Param1=value1&Param2=value2");
    check_signature("GET", "/", query, vanilla, 2, EMPTY_SHA256, date, "service", "AKIDEXAMPLE", SUITE_SECRET,
                    "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
    free(query);
    /* post-vanilla */
    check_signature("POST", "/", "", vanilla, 2, EMPTY_SHA256, date, "service", "AKIDEXAMPLE", SUITE_SECRET,
                    "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
    /* get-unreserved: nothing of the unreserved set is encoded */
    char *unreserved = pgb_sigv4_uri_encode("/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 1);
    check_signature("GET", unreserved, "", vanilla, 2, EMPTY_SHA256, date, "service", "AKIDEXAMPLE", SUITE_SECRET,
                    "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
    free(unreserved);
    /* get-utf8: GET /ሴ */
    char *utf8 = pgb_sigv4_uri_encode("/\xe1\x88\xb4", 1);
    CU_ASSERT_STRING_EQUAL(utf8, "/%E1%88%B4");
    check_signature("GET", utf8, "", vanilla, 2, EMPTY_SHA256, date, "service", "AKIDEXAMPLE", SUITE_SECRET,
                    "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
    free(utf8);
    /* post-x-www-form-urlencoded: body Param1=value1 */
    const struct pgb_sigv4_header form[] = {{"Content-Type", "application/x-www-form-urlencoded"},
                                            {"Host", "example.amazonaws.com"},
                                            {"X-Amz-Date", "20150830T123600Z"}};
    char body_hash[65];
    CU_ASSERT_EQUAL(pgb_sigv4_sha256_hex("Param1=value1", 13, body_hash), 0);
    check_signature("POST", "/", "", form, 3, body_hash, date, "service", "AKIDEXAMPLE", SUITE_SECRET,
                    "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

/* The S3 API reference's examples (examplebucket, 2013-05-24, AKIAIOSFODNN7EXAMPLE). */
static void test_aws_s3_reference_examples(void)
{
    const char *date = "20130524T000000Z";
    /* GET Object with a range */
    const struct pgb_sigv4_header get[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                                           {"Range", "bytes=0-9"},
                                           {"x-amz-content-sha256", EMPTY_SHA256},
                                           {"x-amz-date", date}};
    struct pgb_sigv4_input in = {"GET", "/test.txt", "", get, 4, EMPTY_SHA256, date, "us-east-1", "s3",
                                 "AKIAIOSFODNN7EXAMPLE", S3_SECRET};
    struct pgb_sigv4_output out;
    CU_ASSERT_EQUAL_FATAL(pgb_sigv4_sign(&in, &out), 0);
    CU_ASSERT_STRING_EQUAL(out.authorization,
                           "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                           "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                           "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    pgb_sigv4_output_free(&out);

    /* PUT Object: "Welcome to Amazon S3." to test$file.text, with a storage class */
    char payload[65];
    CU_ASSERT_EQUAL(pgb_sigv4_sha256_hex("Welcome to Amazon S3.", 21, payload), 0);
    CU_ASSERT_STRING_EQUAL(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    char *uri = pgb_sigv4_uri_encode("/test$file.text", 1);
    CU_ASSERT_STRING_EQUAL(uri, "/test%24file.text");
    const struct pgb_sigv4_header put[] = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                                           {"Host", "examplebucket.s3.amazonaws.com"},
                                           {"x-amz-date", date},
                                           {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                                           {"x-amz-content-sha256", payload}};
    check_signature("PUT", uri, "", put, 5, payload, date, "s3", "AKIAIOSFODNN7EXAMPLE", S3_SECRET,
                    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    free(uri);

    /* GET Bucket lifecycle: a parameter without a value */
    const struct pgb_sigv4_header bucket[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                                              {"x-amz-content-sha256", EMPTY_SHA256},
                                              {"x-amz-date", date}};
    struct pgb_sigv4_pair lifecycle[] = {{"lifecycle", NULL}};
    char *query = pgb_sigv4_query(lifecycle, 1);
    CU_ASSERT_STRING_EQUAL(query, "lifecycle=");
    check_signature("GET", "/", query, bucket, 3, EMPTY_SHA256, date, "s3", "AKIAIOSFODNN7EXAMPLE", S3_SECRET,
                    "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    free(query);

    /* GET Bucket (list objects) ?max-keys=2&prefix=J */
    struct pgb_sigv4_pair list[] = {{"prefix", "J"}, {"max-keys", "2"}};
    query = pgb_sigv4_query(list, 2);
    CU_ASSERT_STRING_EQUAL(query, "max-keys=2&prefix=J");
    check_signature("GET", "/", query, bucket, 3, EMPTY_SHA256, date, "s3", "AKIAIOSFODNN7EXAMPLE", S3_SECRET,
                    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    free(query);
}

static void test_header_values_are_trimmed_and_folded(void)
{
    const struct pgb_sigv4_header headers[] = {{"Host", "h"}, {"My-Header", "  a   b\t c  "}, {"x-amz-date", "20200101T000000Z"}};
    struct pgb_sigv4_input in = {"GET", "/", "", headers, 3, EMPTY_SHA256, "20200101T000000Z", "r", "s3", "A", "S"};
    struct pgb_sigv4_output out;
    CU_ASSERT_EQUAL_FATAL(pgb_sigv4_sign(&in, &out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.canonical_request, "\nmy-header:a b c\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.canonical_request, "\nhost;my-header;x-amz-date\n"));
    pgb_sigv4_output_free(&out);
}

static void test_amz_date_is_utc_basic_format(void)
{
    char date[17];
    pgb_sigv4_amz_date(1369353600, date); /* 2013-05-24T00:00:00Z */
    CU_ASSERT_STRING_EQUAL(date, "20130524T000000Z");
}

/* Sign one of botocore's requests with the library; 1 when everything matches. */
static int same_as_botocore(json_t *doc)
{
    const char *style = json_string_value(json_object_get(doc, "style"));
    const char *bucket = json_string_value(json_object_get(doc, "bucket"));
    const char *key = json_string_value(json_object_get(doc, "key"));
    size_t path_size = strlen(bucket) + strlen(key) + 3;
    char *path = malloc(path_size);
    if (strcmp(style, "path") == 0)
        snprintf(path, path_size, "/%s/%s", bucket, key);
    else
        snprintf(path, path_size, "/%s", key);
    char *uri = pgb_sigv4_uri_encode(path, 1);
    free(path);

    json_t *query = json_object_get(doc, "query");
    size_t pair_count = json_array_size(query);
    struct pgb_sigv4_pair *pairs = calloc(pair_count + 1, sizeof(*pairs));
    for (size_t i = 0; i < pair_count; i++) {
        pairs[i].name = json_string_value(json_array_get(json_array_get(query, i), 0));
        pairs[i].value = json_string_value(json_array_get(json_array_get(query, i), 1));
    }
    char *canonical_query = pgb_sigv4_query(pairs, pair_count);

    json_t *headers = json_object_get(doc, "headers");
    size_t header_count = json_array_size(headers);
    struct pgb_sigv4_header *list = calloc(header_count + 1, sizeof(*list));
    for (size_t i = 0; i < header_count; i++) {
        list[i].name = json_string_value(json_array_get(json_array_get(headers, i), 0));
        list[i].value = json_string_value(json_array_get(json_array_get(headers, i), 1));
    }
    struct pgb_sigv4_input in = {
        json_string_value(json_object_get(doc, "method")), uri, canonical_query, list, header_count,
        json_string_value(json_object_get(doc, "payload_hash")), json_string_value(json_object_get(doc, "amz_date")),
        json_string_value(json_object_get(doc, "region")), "s3", json_string_value(json_object_get(doc, "access_key")),
        json_string_value(json_object_get(doc, "secret_key")),
    };
    struct pgb_sigv4_output out = {0};
    int same = pgb_sigv4_sign(&in, &out) == 0 &&
               strcmp(uri, json_string_value(json_object_get(doc, "canonical_uri"))) == 0 &&
               strcmp(out.canonical_request, json_string_value(json_object_get(doc, "canonical_request"))) == 0 &&
               strcmp(out.string_to_sign, json_string_value(json_object_get(doc, "string_to_sign"))) == 0 &&
               strcmp(out.authorization, json_string_value(json_object_get(doc, "authorization"))) == 0;
    if (!same)
        fprintf(stderr, "\nrequest %lld differs from botocore:\nours:\n%s\n%s\nbotocore:\n%s\n%s\n",
                (long long)json_integer_value(json_object_get(doc, "number")),
                out.canonical_request ? out.canonical_request : "(none)", out.authorization ? out.authorization : "",
                json_string_value(json_object_get(doc, "canonical_request")),
                json_string_value(json_object_get(doc, "authorization")));
    pgb_sigv4_output_free(&out);
    free(list);
    free(canonical_query);
    free(pairs);
    free(uri);
    return same;
}

static void test_generated_requests_sign_as_botocore_signs_them(void)
{
    const char *python = getenv("PGB_TEST_PYTHON") ? getenv("PGB_TEST_PYTHON") : "/usr/bin/python3";
    char command[1024];
    snprintf(command, sizeof(command), "%s -c 'import botocore' 2>/dev/null", python);
    if (system(command) != 0) {
        /* Not silent: scripts/install-deps installs python3-botocore, and CI must have it. */
        fprintf(stderr, "\nbotocore is not installed (Debian: python3-botocore)\n");
        CU_FAIL_FATAL("botocore is missing: run scripts/install-deps");
    }
    snprintf(command, sizeof(command), "%s %s/sigv4_botocore.py 2000 20261125", python, PGB_TEST_SUPPORT_DIR);
    FILE *pipe = popen(command, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(pipe);
    char *line = NULL;
    size_t capacity = 0;
    int count = 0, same = 0;
    while (getline(&line, &capacity, pipe) > 0) {
        json_error_t error;
        json_t *doc = json_loads(line, 0, &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        count++;
        same += same_as_botocore(doc);
        json_decref(doc);
    }
    free(line);
    CU_ASSERT_EQUAL(pclose(pipe), 0);
    CU_ASSERT_EQUAL(count, 2000);
    CU_ASSERT_EQUAL(same, count);
    printf(" (%d/%d requests signed as botocore signs them) ", same, count);
}

#define CASE(name) {#name, test_##name}

int main(void)
{
    CU_TestInfo cases[] = {
        CASE(aws_test_suite_examples),
        CASE(aws_s3_reference_examples),
        CASE(header_values_are_trimmed_and_folded),
        CASE(amz_date_is_utc_basic_format),
        CASE(generated_requests_sign_as_botocore_signs_them),
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {{"sigv4", NULL, NULL, NULL, NULL, cases}, CU_SUITE_INFO_NULL};
    return pgb_test_run(suites);
}
