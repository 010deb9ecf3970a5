"""Publishing a version's model files: uploading its folder, never overwriting, and its digest.

A published version is immutable and the catalog names it by location and sha256 digest; this
module writes the files and computes the digest. Step functions, self-contained for KFP (see
the package docstring).
"""


def file_digest(path: str) -> str:
    """Return `sha256:<hex>` of a file, the form the catalog's `digest` takes."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def upload_model(model_dir: str, uri: str) -> list[str]:
    """Copy the OVMS model folder (`1/model.onnx`) to `uri`; returns the objects written.

    `uri` is s3://BUCKET/PREFIX/ (credentials from the environment, as in fetch_data) or a
    local folder for local runs. A location that already holds files is refused: a published
    version is immutable, and a half-overwritten model would be served by whoever syncs next.
    """
    import os
    import shutil
    from pathlib import Path

    source = Path(model_dir)
    files = sorted(path for path in source.rglob("*") if path.is_file())
    if not files:
        raise ValueError(f"{model_dir} holds no files to upload")
    written = []
    if uri.startswith("s3://"):
        import boto3

        bucket, _, prefix = uri[len("s3://"):].partition("/")
        prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        client = boto3.client("s3", endpoint_url=os.environ.get("AWS_S3_ENDPOINT") or None,
                              region_name=os.environ.get("AWS_DEFAULT_REGION") or None)
        if client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0):
            raise ValueError(f"{uri} already holds objects; a published version is never overwritten")
        for path in files:
            key = prefix + path.relative_to(source).as_posix()
            client.upload_file(str(path), bucket, key)
            written.append(f"s3://{bucket}/{key}")
    else:
        destination = Path(uri[len("file://"):] if uri.startswith("file://") else uri)
        if destination.exists() and any(destination.iterdir()):
            raise ValueError(f"{uri} already holds files; a published version is never overwritten")
        for path in files:
            target = destination / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            written.append(str(target))
    return written
