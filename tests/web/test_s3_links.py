"""Files in S3: stored with the server's type and disposition (never the browser's upload headers),
reached through presigned links that the real S3 server (SeaweedFS) refuses once expired or altered,
and downloaded under a sanitised name."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from webapp.videos import storage
from webapp.videos.models import JobStatus, RenderJob, TrackJob, Video

pytestmark = pytest.mark.django_db


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture
def stored(alice):
    key = f"users/{alice.pk}/videos/links/r.mp4"
    storage.put_bytes(b"rendered bytes", key, content_type="video/mp4")
    return key


@pytest.mark.parametrize(
    "name, header",
    [
        ("red-ball-spotlight+glow-9x16-v2.mp4", 'attachment; filename="red-ball-spotlight+glow-9x16-v2.mp4"'),
        ('say "cheese".mp4', 'attachment; filename="say-cheese.mp4"'),
        ("ad\r\nSet-Cookie: session=x.mp4", 'attachment; filename="ad-Set-Cookie-session-x.mp4"'),
        ("../../etc/passwd", 'attachment; filename="etc-passwd"'),
        ("..\\..\\boot.ini", 'attachment; filename="boot.ini"'),
        ("a;b=c.json", 'attachment; filename="a-b-c.json"'),
        (".hidden", 'attachment; filename="download.hidden"'),
        ("", 'attachment; filename="download"'),
        (
            "Été à Paris.mp4",
            "attachment; filename=\"Ete-a-Paris.mp4\"; filename*=UTF-8''%C3%89t%C3%A9-%C3%A0-Paris.mp4",
        ),
        ("日本.mp4", "attachment; filename=\"download.mp4\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.mp4"),
    ],
)
def test_download_names_are_sanitised(name, header):
    assert storage.content_disposition(name) == header


def test_a_presigned_link_works_until_it_expires(stored, settings):
    assert _get(storage.presigned_url(stored))[0] == 200
    settings.S3_PRESIGN_SECONDS = 1
    url = storage.presigned_url(stored)
    time.sleep(2.5)  # past the link's one-second life (its X-Amz-Date is whole seconds)
    status, _, body = _get(url)
    assert status == 403, body


def test_an_altered_presigned_link_is_refused(stored, alice):
    other = f"users/{alice.pk}/videos/links/other.mp4"
    storage.put_bytes(b"someone else's", other, content_type="video/mp4")
    url = storage.presigned_url(stored, download_name="r.mp4")
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")

    assert _get(_with_query(url, **{"X-Amz-Signature": flipped}))[0] == 403
    assert _get(url.replace("/r.mp4?", "/other.mp4?"))[0] == 403  # the signature of another key
    assert _get(_with_query(url, **{"response-content-disposition": "inline"}))[0] == 403
    assert _get(_with_query(url, **{"X-Amz-Expires": "604800"}))[0] == 403
    assert _get(url)[0] == 200


def test_a_download_saves_under_the_sanitised_title(alice_client, alice):
    video = Video.objects.create(
        owner=alice, title='Été "launch"\r\n../ad.mov', original_key="k", original_size=1, status="ready"
    )
    track = TrackJob.objects.create(video=video, prompt={"text": "the bag"}, status=JobStatus.DONE)
    render = RenderJob.objects.create(track_job=track, status=JobStatus.DONE, output_key=f"{video.key_prefix}r.mp4")
    storage.put_bytes(b"rendered bytes", render.output_key, content_type="video/mp4")

    response = alice_client.get(reverse("render-download", args=[render.id]))
    assert response.status_code == 302
    status, headers, body = _get(response["Location"])
    assert status == 200 and body == b"rendered bytes"
    disposition = headers["Content-Disposition"]
    assert disposition == (
        'attachment; filename="Ete-launch-.-ad-spotlight-9x16.mp4"; '
        "filename*=UTF-8''%C3%89t%C3%A9-launch-.-ad-spotlight-9x16.mp4"
    )


def test_an_upload_is_stored_with_the_servers_type_not_the_browsers(alice_client, alice, red_ball_video, settings):
    path, _ = red_ball_video
    lying = SimpleUploadedFile("ad.mp4", path.read_bytes(), content_type="text/html")
    response = alice_client.post(
        reverse("video-upload"), {"file": lying, "description": "the red ball", "style": "spotlight", "aspect": "9:16"}
    )
    assert response.status_code == 302, response.content[:2000]
    video = Video.objects.get(owner=alice)
    head = storage._client().head_object(Bucket=settings.S3_BUCKET, Key=video.original_key)
    assert head["ContentType"] == "video/mp4"
    assert head["ContentDisposition"] == 'attachment; filename="original.mp4"'


def test_every_stored_object_opens_as_a_download(stored, settings):
    head = storage._client().head_object(Bucket=settings.S3_BUCKET, Key=stored)
    assert head["ContentType"] == "video/mp4"
    assert head["ContentDisposition"] == 'attachment; filename="r.mp4"'
