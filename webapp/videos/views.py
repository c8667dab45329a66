from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.videos import quotas, selectors, services, storage
from webapp.videos.forms import OutputForm, UploadForm, product_looks, too_large_message
from webapp.videos.models import JobStatus, file_name_part
from webapp.videos.products import MAX_PRODUCTS


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


def _json_body(request: HttpRequest) -> dict:
    """The request's JSON object; ``ValidationError`` when it is not one."""
    try:
        data = json.loads(request.body or b"{}")
    except ValueError as e:
        raise ValidationError("The request body is not valid JSON.") from e
    if not isinstance(data, dict):
        raise ValidationError("The request body must be a JSON object.")
    return data


def _message(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- pages ------------------------------------------------------------------------------------------


@login_required
@require_GET
def video_list(request: HttpRequest) -> HttpResponse:
    videos = list(selectors.video_list(user=request.user))
    rows = [(v, selectors.video_state(video=v)) for v in videos]
    thumbnails = {
        v.id: storage.presigned_url(v.thumbnail_key, content_type="image/jpeg") for v in videos if v.thumbnail_key
    }
    return render(request, "videos/list.html", {"rows": rows, "thumbnails": thumbnails})


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
                styles=form.cleaned_data["style"],
                aspects=form.cleaned_data["aspect"],
                motion=form.cleaned_data["motion"],
                auto_confirm=form.cleaned_data["auto_confirm"],
            )
        except quotas.QuotaExceeded as e:  # about the account, not this file
            form.add_error(None, e)
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
    descriptions = form["description"].value() if form.is_bound else None
    context = {
        "form": form,
        "descriptions": [d for d in (descriptions or []) if d.strip()] or [""],
        "max_products": MAX_PRODUCTS,
        "max_bytes": settings.UPLOAD_MAX_BYTES,
        "too_large": too_large_message(),
        "usage": quotas.usage(user=request.user),
    }
    return render(request, "videos/upload.html", context, status=status)


@login_required
@require_GET
def video_detail(request: HttpRequest, video_id) -> HttpResponse:
    video = selectors.video_get(user=request.user, video_id=video_id)
    context = {"video": video, "state": selectors.video_state(video=video), "max_products": MAX_PRODUCTS}
    return render(request, "videos/detail.html", context)


@login_required
@require_GET
def video_review(request: HttpRequest, video_id) -> HttpResponse:
    video = selectors.video_get(user=request.user, video_id=video_id)
    if not video.proxy_key:
        return redirect("video-detail", video_id=video.id)
    context = {
        "video": video,
        "state": selectors.video_state(video=video),
        "proxy_url": storage.presigned_url(video.proxy_key, content_type="video/mp4"),
        "output_form": OutputForm(),
        "max_products": MAX_PRODUCTS,
    }
    return render(request, "videos/review.html", context)


@login_required
@require_POST
def video_delete(request: HttpRequest, video_id) -> HttpResponse:
    video = selectors.video_get(user=request.user, video_id=video_id)
    try:
        services.video_delete(video=video)
    except storage.StorageError as e:
        return HttpResponse(str(e), status=503, content_type="text/plain")
    return redirect("video-list")


@login_required
@require_GET
def render_download(request: HttpRequest, job_id) -> HttpResponse:
    job = selectors.render_job_get(user=request.user, job_id=job_id)
    if job.status != JobStatus.DONE or not job.output_key:
        return HttpResponse("This render is not ready yet.", status=409, content_type="text/plain")
    return redirect(storage.presigned_url(job.output_key, download_name=job.download_name))


_TRACK_DOWNLOADS = {"json": ("track", ".json"), "masks": ("masks", ".zip"), "crop_path": ("crop-path-9x16", ".json")}


@login_required
@require_GET
def track_download(request: HttpRequest, job_id, kind: str) -> HttpResponse:
    """The track as JSON, its masks as a zip of PNGs, or the 9:16 crop path, under a meaningful name."""
    job = selectors.track_job_get(user=request.user, job_id=job_id)
    key = job.track_key if kind == "json" else job.exports.get(kind)
    if kind not in _TRACK_DOWNLOADS or job.status != JobStatus.DONE or not key:
        return HttpResponse("This file is not ready.", status=404, content_type="text/plain")
    what, ext = _TRACK_DOWNLOADS[kind]
    stem = job.video.title.rsplit(".", 1)[0] or "video"
    return redirect(storage.presigned_url(key, download_name=f"{stem}-{what}-v{job.version}{ext}"))


@login_required
@require_GET
def product_track_download(request: HttpRequest, job_id, product_id: str, kind: str) -> HttpResponse:
    """One product's masks (zip of PNGs) or 9:16 crop path, of a track of several products."""
    job = selectors.track_job_get(user=request.user, job_id=job_id)
    key = job.exports.get(f"{kind}-{product_id}")
    if kind not in ("masks", "crop_path") or job.status != JobStatus.DONE or not key:
        return HttpResponse("This file is not ready.", status=404, content_type="text/plain")
    what, ext = _TRACK_DOWNLOADS[kind]
    stem = job.video.title.rsplit(".", 1)[0] or "video"
    name = file_name_part(job.video.product_names().get(product_id, f"product-{product_id}"))
    return redirect(storage.presigned_url(key, download_name=f"{stem}-{name}-{what}-v{job.version}{ext}"))


# --- JSON API ---------------------------------------------------------------------------------------


@login_required
@require_GET
def video_status(request: HttpRequest, video_id) -> JsonResponse:
    video = selectors.video_get(user=request.user, video_id=video_id)
    return JsonResponse(selectors.video_state(video=video))


@login_required
@require_GET
def track_overview(request: HttpRequest, job_id) -> JsonResponse:
    job = selectors.track_job_get(user=request.user, job_id=job_id)
    return JsonResponse(selectors.track_overview(job=job))


@login_required
@require_GET
def track_frames(request: HttpRequest, job_id) -> JsonResponse:
    """``?start=&count=``: a chunk of frames with boxes and mask outlines (see selectors.track_frames)."""
    job = selectors.track_job_get(user=request.user, job_id=job_id)
    try:
        start = int(request.GET.get("start", "0"))
        count = int(request.GET.get("count", "50"))
    except ValueError:
        return _bad_request("start and count must be whole numbers, for example ?start=0&count=50.")
    if start < 0 or count < 1:
        return _bad_request("start must be 0 or more and count 1 or more.")
    return JsonResponse(selectors.track_frames(job=job, start=start, count=count))


def _post_json(handler):
    """A login-protected JSON POST endpoint: ``ValidationError`` becomes a 400 with its message."""

    @login_required
    @require_POST
    def view(request: HttpRequest, **kwargs) -> JsonResponse:
        try:
            return handler(request, _json_body(request), **kwargs)
        except ValidationError as e:
            return _bad_request(_message(e))

    view.__name__ = handler.__name__
    return view


@_post_json
def video_confirm(request: HttpRequest, data: dict, video_id) -> JsonResponse:
    video = selectors.video_get(user=request.user, video_id=video_id)
    job = services.video_confirm(
        video=video, frame=data.get("frame"), point=data.get("point"), box=data.get("box"), choices=data.get("products")
    )
    return JsonResponse({"track": str(job.id), "prompt": job.prompt, "products": job.product_prompts()})


@_post_json
def track_correct(request: HttpRequest, data: dict, video_id) -> JsonResponse:
    video = selectors.video_get(user=request.user, video_id=video_id)
    job = services.track_correct(
        video=video, frame=data.get("frame"), points=data.get("points", []), boxes=data.get("boxes", []),
        product=data.get("product"),
    )  # fmt: skip
    return JsonResponse({"track": str(job.id), "version": job.version}, status=201)


@_post_json
def track_hide(request: HttpRequest, data: dict, video_id) -> JsonResponse:
    video = selectors.video_get(user=request.user, video_id=video_id)
    job = services.track_hide(video=video, start=data.get("start"), end=data.get("end"), product=data.get("product"))
    return JsonResponse({"track": str(job.id), "version": job.version}, status=201)


@_post_json
def product_add(request: HttpRequest, data: dict, video_id) -> JsonResponse:
    """A new product, clicked (``point``) or boxed (``box``) on ``frame``, named ``name`` or "Product N"."""
    video = selectors.video_get(user=request.user, video_id=video_id)
    product = services.product_add(
        video=video, frame=data.get("frame"), point=data.get("point"), box=data.get("box"), name=data.get("name")
    )
    return JsonResponse({"product": selectors.product_dict(product=product)}, status=201)


@_post_json
def product_rename(request: HttpRequest, data: dict, video_id, product_id: str) -> JsonResponse:
    product = selectors.product_get(user=request.user, video_id=video_id, product_id=product_id)
    product = services.product_rename(
        video=product.video, product_id=product.slug, name=data.get("name"), colour=data.get("colour")
    )
    return JsonResponse({"product": selectors.product_dict(product=product)})


@_post_json
def product_remove(request: HttpRequest, data: dict, video_id, product_id: str) -> JsonResponse:
    product = selectors.product_get(user=request.user, video_id=video_id, product_id=product_id)
    job = services.product_remove(video=product.video, product_id=product.slug)
    return JsonResponse({"track": str(job.id), "version": job.version})


@_post_json
def track_undo(request: HttpRequest, data: dict, video_id) -> JsonResponse:
    video = selectors.video_get(user=request.user, video_id=video_id)
    job = services.track_undo(video=video)
    return JsonResponse({"track": str(job.id), "version": job.version})


@_post_json
def renders_create(request: HttpRequest, data: dict, video_id) -> JsonResponse:
    video = selectors.video_get(user=request.user, video_id=video_id)
    form = OutputForm({"style": data.get("style"), "aspect": data.get("aspect"), "motion": data.get("motion")})
    if not form.is_valid():
        raise ValidationError([f"{form.fields[k].label}: {' '.join(v)}" for k, v in form.errors.items()])
    focus = data.get("focus") or "auto"
    if not isinstance(focus, str):
        raise ValidationError("The focus is a product's id, 'all' or 'auto'.")
    jobs = services.renders_create(
        video=video, styles=form.cleaned_data["style"], aspects=form.cleaned_data["aspect"],
        motion=form.cleaned_data["motion"], looks=product_looks(data.get("looks")), focus=focus,
        focus_ranges=data.get("focus_ranges") or [],
    )  # fmt: skip
    return JsonResponse({"renders": [str(j.id) for j in jobs]}, status=201)


@_post_json
def job_cancel(request: HttpRequest, data: dict, job_id) -> JsonResponse:
    job = selectors.job_get(user=request.user, job_id=job_id)
    services.job_cancel(job=job)
    return JsonResponse({"id": str(job.id), "status": job.status, "cancel_requested": job.cancel_requested})
