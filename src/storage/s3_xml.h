/*
 * The little XML that S3 answers with (list results, multipart replies,
 * errors, batch delete results): elements found by name, text decoded. Not a
 * general parser: no namespaces, attributes or CDATA are interpreted, and
 * anything unexpected reads as "not found". Outside input: fuzzed.
 */
#ifndef PGB_STORAGE_S3_XML_H
#define PGB_STORAGE_S3_XML_H

#include <stddef.h>

/* A span of the document. */
struct s3_xml_span {
    const char *start;
    size_t length;
};

/*
 * Find the next element <name ...>...</name> (or <name/>) inside within,
 * at or after *cursor (NULL: the start of within). On success sets inner to
 * its content and *cursor past it, and returns 1; returns 0 when there is none.
 */
int s3_xml_next(struct s3_xml_span within, const char **cursor, const char *name, struct s3_xml_span *inner);

/* The decoded text of the first element name inside within, malloc'd; NULL when absent or out of memory. */
char *s3_xml_text(struct s3_xml_span within, const char *name);

/* Decode entities (&amp; &lt; &gt; &quot; &apos; &#N; &#xN;) of span; malloc'd, NULL when out of memory. */
char *s3_xml_decode(struct s3_xml_span span);

/* Escape text for an XML element's content; malloc'd. */
char *s3_xml_escape(const char *text);

#endif
