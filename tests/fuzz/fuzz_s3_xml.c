/*
 * Fuzz target: the XML of S3 answers (outside input: it comes from the
 * storage server): listings, multipart replies, errors, batch delete results.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "storage/s3_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct s3_xml_span all = {(const char *)data, size}, result, entry;
    const char *cursor = NULL;
    if (s3_xml_next(all, NULL, "ListBucketResult", &result))
        while (s3_xml_next(result, &cursor, "Contents", &entry)) {
            free(s3_xml_text(entry, "Key"));
            free(s3_xml_text(entry, "Size"));
            free(s3_xml_text(entry, "LastModified"));
        }
    free(s3_xml_text(all, "NextContinuationToken"));
    free(s3_xml_text(all, "UploadId"));
    cursor = NULL;
    while (s3_xml_next(all, &cursor, "Error", &entry)) {
        free(s3_xml_text(entry, "Code"));
        free(s3_xml_text(entry, "Message"));
    }
    free(s3_xml_decode(all));
    return 0;
}
