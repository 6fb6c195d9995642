/*
 * The ends of the pipeline that meet storage: a sink that writes into a storage
 * writer and a source that reads from a storage reader.
 */
#ifndef PGB_PIPELINE_STORAGE_STREAM_H
#define PGB_PIPELINE_STORAGE_STREAM_H

#include <pgbackup/storage.h>

#include "pipeline/stream.h"

/*
 * A sink writing into writer, which stays the caller's: finishing the sink
 * does not commit, destroying it does not abort. It counts the bytes written.
 */
int pgb_storage_sink_new(pgb_ctx *ctx, pgb_storage_writer *writer, pgb_sink **out);
uint64_t pgb_storage_sink_bytes(const pgb_sink *sink);

/* A source reading from reader, which the source owns and closes on destroy. */
int pgb_storage_source_new(pgb_ctx *ctx, pgb_storage_reader *reader, pgb_source **out);

#endif
