"""Upload handling: files go to a temporary file on disk while they arrive, never into memory,
and an upload over ``UPLOAD_MAX_BYTES`` is stopped as soon as it crosses the limit."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler


class SizeLimitUploadHandler(TemporaryFileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # The browser tells the size up front: refuse at the first chunk without storing a byte.
        self.request.upload_too_large = bool(content_length and content_length > settings.UPLOAD_MAX_BYTES + 1024**2)
        self.received = 0
        return super().handle_raw_input(input_data, META, content_length, boundary, encoding)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.request.upload_too_large or self.received > settings.UPLOAD_MAX_BYTES:
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)


def uploaded_file_from_path(path: str | Path, *, content_type: str = "video/mp4") -> TemporaryUploadedFile:
    """A file on disk as an upload, for the demo command and tests: copied in chunks, never whole."""
    path = Path(path)
    upload = TemporaryUploadedFile(path.name, content_type, path.stat().st_size, None)
    with path.open("rb") as src:
        shutil.copyfileobj(src, upload, 1024 * 1024)
    upload.seek(0)
    return upload
