from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from webapp.videos import selectors, services, storage
from webapp.videos.forms import UploadForm, too_large_message
from webapp.videos.models import JobStatus


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_GET
def video_list(request: HttpRequest) -> HttpResponse:
    videos = list(selectors.video_list(user=request.user))
    rows = [(v, selectors.video_state(video=v)) for v in videos]
    return render(request, "videos/list.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def video_upload(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _upload_page(request, UploadForm())

    # Reading POST runs the upload handlers; one of them may stop an over-size upload.
    form = UploadForm(request.POST, request.FILES)
    if getattr(request, "upload_too_large", False):
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error("file", too_large_message())
    elif form.is_valid():
        try:
            video = services.video_create(
                owner=request.user,
                uploaded_file=form.cleaned_data["file"],
                description=form.cleaned_data["description"],
                style=form.cleaned_data["style"],
                aspect=form.cleaned_data["aspect"],
            )
        except ValidationError as e:
            form.add_error("file", e)
        except storage.StorageError as e:
            form.add_error(None, str(e))
        else:
            url = reverse("video-detail", args=[video.id])
            return JsonResponse({"url": url}, status=201) if _wants_json(request) else redirect(url)
    if _wants_json(request):
        return JsonResponse({"errors": {k: [str(m) for m in v] for k, v in form.errors.items()}}, status=400)
    return _upload_page(request, form, status=400)


def _upload_page(request: HttpRequest, form: UploadForm, status: int = 200) -> HttpResponse:
    context = {"form": form, "max_bytes": settings.UPLOAD_MAX_BYTES, "too_large": too_large_message()}
    return render(request, "videos/upload.html", context, status=status)


@login_required
@require_GET
def video_detail(request: HttpRequest, video_id) -> HttpResponse:
    video = selectors.video_get(user=request.user, video_id=video_id)
    return render(request, "videos/detail.html", {"video": video, "state": selectors.video_state(video=video)})


@login_required
@require_GET
def video_status(request: HttpRequest, video_id) -> JsonResponse:
    video = selectors.video_get(user=request.user, video_id=video_id)
    return JsonResponse(selectors.video_state(video=video))


@login_required
@require_GET
def render_download(request: HttpRequest, job_id) -> HttpResponse:
    job = selectors.render_job_get(user=request.user, job_id=job_id)
    if job.status != JobStatus.DONE or not job.output_key:
        return HttpResponse("This render is not ready yet.", status=409, content_type="text/plain")
    return redirect(storage.presigned_url(job.output_key, download_name=job.download_name))
