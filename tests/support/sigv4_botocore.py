#!/usr/bin/env python3
"""Generate S3 requests and sign them with botocore (Debian's python3-botocore).

Usage: sigv4_botocore.py COUNT SEED

Prints one JSON document per line: the raw request (bucket, key, addressing,
query pairs, headers, payload hash, date, region, credentials) and what
botocore's S3SigV4Auth made of it (canonical URI, canonical request, string to
sign, Authorization). tests/unit/storage/test_s3_sign.c signs the same raw
requests with the library and compares byte for byte.
"""
import hashlib
import json
import random
import sys
from urllib.parse import quote

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY_CHARS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "-_.~ !$&'()*+,;=:@%#[]?^`{}|\"<>" + "éü€ሴ日本"
)
VALUE_CHARS = "abcdefghijXYZ0123456789-_.~ /+=:,;@\"'\t" + "é"


def text(rng, alphabet, low, high):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def make_request(rng, number):
    bucket = rng.choice(["bucket", "my-bucket.example", "b123"])
    parts = [text(rng, KEY_CHARS, 1, 12) for _ in range(rng.randint(1, 4))]
    key = "/".join(parts)
    style = rng.choice(["path", "host"])
    method = rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD"])
    query = []
    for _ in range(rng.randint(0, 4)):
        name = rng.choice(["uploads", "uploadId", "partNumber", "list-type", "prefix",
                           "continuation-token", "delete", "max-keys", text(rng, KEY_CHARS, 1, 6)])
        value = rng.choice(["", text(rng, KEY_CHARS, 1, 10), str(rng.randint(1, 10000))])
        query.append([name, value])
    body = text(rng, VALUE_CHARS, 0, 40).encode()
    payload = rng.choice([hashlib.sha256(body).hexdigest(), "UNSIGNED-PAYLOAD"])
    seconds = rng.randint(1_300_000_000, 2_000_000_000)
    import time
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))
    port = rng.choice(["", ":9000", ":443"])
    host = (f"{bucket}.s3.example.test" if style == "host" else "s3.example.test") + port
    headers = [["Host", host], ["X-Amz-Date", amz_date], ["x-amz-content-sha256", payload]]
    extra = [
        ["Range", f"bytes={rng.randint(0, 99)}-{rng.randint(100, 9999)}"],
        ["If-None-Match", "*"],
        ["Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="],
        ["x-amz-storage-class", rng.choice(["STANDARD_IA", "GLACIER_IR"])],
        ["x-amz-server-side-encryption", "AES256"],
        ["X-Amz-Meta-Note", text(rng, VALUE_CHARS, 0, 20)],
        ["Content-Type", "application/xml"],
        ["x-amz-object-lock-mode", "GOVERNANCE"],
        ["x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"],
    ]
    headers += rng.sample(extra, rng.randint(0, len(extra)))
    token = rng.choice([None, "FQoGZXIvYXdzE" + text(rng, "abcXYZ0189+/=", 5, 30)])
    if token:
        headers.append(["X-Amz-Security-Token", token])
    region = rng.choice(["us-east-1", "eu-central-1", "garage"])
    access_key = rng.choice(["AKIDEXAMPLE", "S3RVER", "AKIA" + text(rng, "ABCDEFGHIJ0123456789", 16, 16)])
    secret_key = text(rng, "abcdefghijklmnopqrstuvwxyzABCDEF0123456789+/", 20, 40)

    path = f"/{bucket}/{key}" if style == "path" else f"/{key}"
    canonical_uri = quote(path, safe="/~")
    url_query = "&".join(f"{quote(n, safe='-_.~')}={quote(v, safe='-_.~')}" for n, v in query)
    url = f"http://{host}{canonical_uri}" + (f"?{url_query}" if url_query else "")
    request = AWSRequest(method=method, url=url, headers={n: v for n, v in headers}, data=body)
    request.context["timestamp"] = amz_date
    auth = S3SigV4Auth(Credentials(access_key, secret_key, token), "s3", region)
    canonical = auth.canonical_request(request)
    to_sign = auth.string_to_sign(request, canonical)
    signature = auth.signature(to_sign, request)
    auth._inject_signature_to_request(request, signature)
    return {
        "number": number, "method": method, "bucket": bucket, "key": key, "style": style,
        "query": query, "headers": headers, "payload_hash": payload, "amz_date": amz_date,
        "region": region, "access_key": access_key, "secret_key": secret_key,
        "canonical_uri": canonical_uri, "canonical_request": canonical, "string_to_sign": to_sign,
        "authorization": request.headers["Authorization"],
    }


def main():
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    for number in range(count):
        print(json.dumps(make_request(rng, number), ensure_ascii=False))


if __name__ == "__main__":
    main()
