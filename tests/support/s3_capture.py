#!/usr/bin/env python3
"""A stand-in S3 endpoint that records every request, for the tests of headers
that s3rver ignores (server-side encryption, storage class, Object Lock,
Content-MD5) and of requests it does not implement (AbortMultipartUpload).

Usage: s3_capture.py PORT_FILE LOG_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE), answers like S3 would
for PUT, multipart uploads, HEAD (404) and DELETE, and appends one JSON line per
request to LOG_FILE: method, path, query, headers, body size, body MD5. Stops
after 10 minutes or on SIGTERM.
"""
import hashlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, body):
        parts = urlsplit(self.path)
        entry = {
            "method": self.command,
            "path": parts.path,
            "query": dict(parse_qsl(parts.query, keep_blank_values=True)),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "size": len(body),
            "md5": hashlib.md5(body).hexdigest(),
        }
        with open(self.server.log_file, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
        return entry

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length else b""

    def do_PUT(self):
        entry = self.record(self.body())
        # Keys that misbehave, for the retry tests: "slowdown" throttles each first attempt, "broken" always fails.
        with self.server.lock:
            self.server.seen[entry["path"]] = self.server.seen.get(entry["path"], 0) + 1
            first = self.server.seen[entry["path"]] == 1
        if "slowdown" in entry["path"] and first:
            self.answer(503, b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
        elif "broken" in entry["path"]:
            self.answer(500, b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>")
        else:
            self.answer(200, headers={"ETag": f'"{entry["md5"]}"'})

    def do_POST(self):
        entry = self.record(self.body())
        if "uploads" in entry["query"]:
            xml = b"<InitiateMultipartUploadResult><UploadId>capture-upload-1</UploadId></InitiateMultipartUploadResult>"
            self.answer(200, xml)
        elif "uploadId" in entry["query"]:
            self.answer(200, b'<CompleteMultipartUploadResult><ETag>"done-2"</ETag></CompleteMultipartUploadResult>')
        else:
            self.answer(200, b"<DeleteResult></DeleteResult>")

    def do_HEAD(self):
        self.record(b"")
        self.answer(404)

    def do_GET(self):
        self.record(b"")
        self.answer(404, b"<Error><Code>NoSuchKey</Code><Message>none here</Message></Error>")

    def do_DELETE(self):
        self.record(b"")
        self.answer(204)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.log_file = sys.argv[2]
    server.seen = {}
    server.lock = threading.Lock()
    with open(sys.argv[1] + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    timer = threading.Timer(600, server.shutdown)
    timer.daemon = True
    timer.start()
    server.serve_forever()


if __name__ == "__main__":
    main()
