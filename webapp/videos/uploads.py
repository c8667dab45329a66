"""Upload handling: files go to a temporary file on disk while they arrive, never into memory,
and an upload over ``UPLOAD_MAX_BYTES`` is stopped as soon as it crosses the limit."""

from __future__ import annotations

from django.conf import settings
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
