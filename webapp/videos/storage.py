"""The S3 client: the only module that talks to the object store.

Files are streamed (multipart upload, ranged download) so no video is held in memory. Browsers get
short-lived presigned URLs, never credentials.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import datetime
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

# 16 MiB parts: few requests for big files, small memory per transfer.
_TRANSFER = TransferConfig(multipart_threshold=16 * 1024**2, multipart_chunksize=16 * 1024**2, max_concurrency=4)


class StorageError(Exception):
    """The object store could not be reached or refused the request."""

    def __init__(self, message: str = "File storage is unavailable right now. Try again in a few minutes."):
        super().__init__(message)


@functools.cache
def _client():
    return boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL,
        aws_access_key_id=settings.S3_ACCESS_KEY_ID,
        aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY,
        region_name=settings.S3_REGION,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        ),
    )


def ensure_bucket() -> None:
    try:
        _client().head_bucket(Bucket=settings.S3_BUCKET)
    except ClientError:
        try:
            _client().create_bucket(Bucket=settings.S3_BUCKET)
        except (BotoCoreError, ClientError) as e:
            raise StorageError() from e
    except BotoCoreError as e:
        raise StorageError() from e


# Runs of anything but letters, digits and . ( ) + - _: quotes, slashes, controls, spaces, semicolons.
_UNSAFE_IN_NAME = re.compile(r"[^\w.()+-]+")


def content_disposition(filename: str) -> str:
    """An RFC 6266 ``attachment`` header value that saves as ``filename``, whatever it contains.

    Quotes, line breaks, path separators and other controls are replaced, so the name cannot end the
    header, add another, or climb folders. ``filename`` is an ASCII stand-in every browser reads;
    ``filename*`` (RFC 5987, UTF-8) keeps accents and other scripts for the browsers that read it.
    """
    unicode_name = _safe_name(unicodedata.normalize("NFC", filename))
    ascii_name = _safe_name(unicodedata.normalize("NFKD", unicode_name).encode("ascii", "ignore").decode())
    value = f'attachment; filename="{ascii_name}"'
    if unicode_name != ascii_name:
        value += f"; filename*=UTF-8''{quote(unicode_name, safe='')}"
    return value


def _safe_name(name: str) -> str:
    """Unsafe runs become "-", ".." goes, and the stem neither starts nor ends with a mark (no hidden
    files); a short alphanumeric extension is kept: "../../a b.mp4" becomes "a-b.mp4"."""
    name = re.sub(r"\.{2,}", ".", _UNSAFE_IN_NAME.sub("-", name))
    stem, dot, extension = name.rpartition(".")
    if not dot or not re.fullmatch(r"[A-Za-z0-9]{1,8}", extension):
        stem, extension = name, ""
    stem = stem.strip("-.") or "download"
    return f"{stem}.{extension}" if extension else stem


def _stored_object_headers(key: str, content_type: str) -> dict[str, str]:
    """The type and disposition every object is stored with: the server's, never an uploader's, and
    ``attachment``, so that opening an object's URL saves it rather than rendering it."""
    return {"ContentType": content_type, "ContentDisposition": content_disposition(PurePosixPath(key).name)}


def upload_file(path: str | Path, key: str, *, content_type: str = "application/octet-stream") -> None:
    try:
        _client().upload_file(
            str(path), settings.S3_BUCKET, key, ExtraArgs=_stored_object_headers(key, content_type), Config=_TRANSFER
        )
    except (BotoCoreError, ClientError) as e:
        raise StorageError() from e


def upload_fileobj(fileobj, key: str, *, content_type: str = "application/octet-stream") -> None:
    try:
        _client().upload_fileobj(
            fileobj, settings.S3_BUCKET, key, ExtraArgs=_stored_object_headers(key, content_type), Config=_TRANSFER
        )
    except (BotoCoreError, ClientError) as e:
        raise StorageError() from e


def put_bytes(data: bytes, key: str, *, content_type: str = "application/octet-stream") -> None:
    try:
        _client().put_object(Bucket=settings.S3_BUCKET, Key=key, Body=data, **_stored_object_headers(key, content_type))
    except (BotoCoreError, ClientError) as e:
        raise StorageError() from e


def download_file(key: str, path: str | Path) -> None:
    try:
        _client().download_file(settings.S3_BUCKET, key, str(path), Config=_TRANSFER)
    except (BotoCoreError, ClientError) as e:
        raise StorageError() from e


def get_bytes(key: str) -> bytes:
    try:
        return _client().get_object(Bucket=settings.S3_BUCKET, Key=key)["Body"].read()
    except (BotoCoreError, ClientError) as e:
        raise StorageError() from e


def presigned_url(key: str, *, download_name: str | None = None, content_type: str | None = None) -> str:
    """A GET link that expires after ``S3_PRESIGN_SECONDS``; ``download_name`` makes browsers save it."""
    params = {"Bucket": settings.S3_BUCKET, "Key": key}
    if download_name:
        params["ResponseContentDisposition"] = content_disposition(download_name)
    if content_type:
        params["ResponseContentType"] = content_type
    return _client().generate_presigned_url("get_object", Params=params, ExpiresIn=settings.S3_PRESIGN_SECONDS)


def _listing(prefix: str) -> list[dict]:
    """S3's listing entry (``Key``, ``Size``, ``LastModified``, ...) of every object under ``prefix``."""
    try:
        pages = _client().get_paginator("list_objects_v2").paginate(Bucket=settings.S3_BUCKET, Prefix=prefix)
        return [obj for page in pages for obj in page.get("Contents", [])]
    except (BotoCoreError, ClientError) as e:
        raise StorageError() from e


def list_objects(prefix: str) -> dict[str, datetime]:
    """Every object under ``prefix``, with the time (UTC) it was last written."""
    return {obj["Key"]: obj["LastModified"] for obj in _listing(prefix)}


def list_keys(prefix: str) -> list[str]:
    return list(list_objects(prefix))


def delete_keys(keys: list[str]) -> None:
    try:
        for start in range(0, len(keys), 1000):  # the most one request may delete
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            _client().delete_objects(Bucket=settings.S3_BUCKET, Delete={"Objects": batch, "Quiet": True})
    except (BotoCoreError, ClientError) as e:
        raise StorageError() from e


def delete_prefix(prefix: str) -> int:
    """Delete every object under ``prefix``; returns how many there were."""
    keys = list_keys(prefix)
    delete_keys(keys)
    return len(keys)


def object_sizes(prefix: str) -> dict[str, int]:
    """Every object under ``prefix`` with its size in bytes (what counts against storage quotas)."""
    return {obj["Key"]: obj["Size"] for obj in _listing(prefix)}
