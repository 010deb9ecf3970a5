"""Publishing a version's model files: uploading its folder, never overwriting, and its digest.

A published version is immutable and the catalog names it by location and sha256 digest; this
module writes the files, computes the digest and lists the versions already uploaded. Step
functions, self-contained for KFP (see the package docstring).
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
    The pipeline's resolve step already skips occupied locations (uploaded_versions), so this
    refusal only catches a run that uploaded the same version in between.
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
            raise ValueError(f"{uri} already holds objects; a published version is never overwritten "
                             "(another run uploaded this version since it was resolved)")
        for path in files:
            key = prefix + path.relative_to(source).as_posix()
            client.upload_file(str(path), bucket, key)
            written.append(f"s3://{bucket}/{key}")
    else:
        destination = Path(uri[len("file://"):] if uri.startswith("file://") else uri)
        if destination.exists() and any(destination.iterdir()):
            raise ValueError(f"{uri} already holds files; a published version is never overwritten "
                             "(another run uploaded this version since it was resolved)")
        for path in files:
            target = destination / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            written.append(str(target))
    return written


def uploaded_versions(model_uri_prefix: str) -> list[str]:
    """The folders directly under `model_uri_prefix` that hold objects, sorted: versions uploaded before.

    A version folder stays occupied after a run that uploaded it and then failed to register it,
    and upload_model never writes into an occupied one; so the version resolution skips every
    name listed here. `model_uri_prefix` is s3://BUCKET/PREFIX/ (credentials from the
    environment, as in upload_model) or a local folder (a path or file://); a folder that does
    not exist holds nothing. Version `V` is uploaded to `<model_uri_prefix>V/`.
    """
    import os
    from pathlib import Path

    if model_uri_prefix.startswith("s3://"):
        import boto3

        bucket, _, prefix = model_uri_prefix[len("s3://"):].partition("/")
        prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        client = boto3.client("s3", endpoint_url=os.environ.get("AWS_S3_ENDPOINT") or None,
                              region_name=os.environ.get("AWS_DEFAULT_REGION") or None)
        names = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            names += [entry["Prefix"][len(prefix):].rstrip("/") for entry in page.get("CommonPrefixes") or []]
        return sorted(names)
    folder = Path(model_uri_prefix[len("file://"):] if model_uri_prefix.startswith("file://") else model_uri_prefix)
    if not folder.is_dir():
        return []
    # a file in the way blocks an upload as much as a folder with files in it
    return sorted(path.name for path in folder.iterdir() if not path.is_dir() or any(path.iterdir()))
