"""Read one object from S3-compatible storage with the standard library (AWS Signature Version 4).

The TrustyAI hook reads the drift reference a training run uploaded next to the model
(`<storageUri>trustyai-reference.json`), with the project's data connection `mlops-s3` (the keys
the dashboard writes: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_S3_ENDPOINT,
AWS_DEFAULT_REGION). Path-style addressing (`<endpoint>/<bucket>/<key>`), which MinIO, Ceph RGW
and AWS all accept; the request is signed as AWS documents SigV4 for S3 ("Authenticating Requests:
Using the Authorization Header"), with the hash of the empty body.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ssl
import urllib.error
import urllib.parse
import urllib.request


class Missing(Exception):
    """The object does not exist (HTTP 404)."""


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signed_request(endpoint: str, bucket: str, key: str, access_key: str, secret_key: str, region: str,
                   now: datetime.datetime | None = None) -> urllib.request.Request:
    """A GET of s3://bucket/key at `endpoint`, signed with SigV4."""
    if "://" not in endpoint:
        endpoint = "https://" + endpoint
    base = urllib.parse.urlsplit(endpoint)
    path = base.path.rstrip("/") + "/" + urllib.parse.quote(bucket, safe="") + "/" + urllib.parse.quote(key, safe="/~")
    moment = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%SZ")
    day, region = moment[:8], region or "us-east-1"
    empty = hashlib.sha256(b"").hexdigest()
    headers = {"host": base.netloc, "x-amz-content-sha256": empty, "x-amz-date": moment}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["GET", path, "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed, empty])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", moment, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    signing_key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret_key).encode("utf-8"), day), region), "s3"), "aws4_request")
    signature = hmac.new(signing_key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"{base.scheme}://{base.netloc}{path}", method="GET")
    request.add_header("x-amz-content-sha256", empty)
    request.add_header("x-amz-date", moment)
    request.add_header("Authorization", f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                                        f"SignedHeaders={signed}, Signature={signature}")
    return request


def get_object(endpoint: str, bucket: str, key: str, access_key: str, secret_key: str, region: str,
               context: ssl.SSLContext | None = None) -> bytes:
    """The object's bytes; Missing for 404, urllib errors for anything else."""
    request = signed_request(endpoint, bucket, key, access_key, secret_key, region)
    try:
        with urllib.request.urlopen(request, timeout=60, context=context) as response:
            data: bytes = response.read()
            return data
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise Missing(f"s3://{bucket}/{key}") from None
        raise
