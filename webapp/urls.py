from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from webapp.videos import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="video-list", permanent=False)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("videos/", views.video_list, name="video-list"),
    path("videos/new/", views.video_upload, name="video-upload"),
    path("videos/<uuid:video_id>/", views.video_detail, name="video-detail"),
    path("videos/<uuid:video_id>/review/", views.video_review, name="video-review"),
    path("videos/<uuid:video_id>/delete", views.video_delete, name="video-delete"),
    path("renders/<uuid:job_id>/download", views.render_download, name="render-download"),
    path("tracks/<uuid:job_id>/download/<str:kind>", views.track_download, name="track-download"),
    path(
        "tracks/<uuid:job_id>/products/<slug:product_id>/download/<str:kind>",
        views.product_track_download, name="product-track-download",
    ),  # fmt: skip
    # JSON API
    path("api/videos/<uuid:video_id>/status", views.video_status, name="video-status"),
    path("api/videos/<uuid:video_id>/confirm", views.video_confirm, name="video-confirm"),
    path("api/videos/<uuid:video_id>/corrections", views.track_correct, name="track-correct"),
    path("api/videos/<uuid:video_id>/hide", views.track_hide, name="track-hide"),
    path("api/videos/<uuid:video_id>/undo", views.track_undo, name="track-undo"),
    path("api/videos/<uuid:video_id>/renders", views.renders_create, name="renders-create"),
    path("api/videos/<uuid:video_id>/products", views.product_add, name="product-add"),
    path("api/videos/<uuid:video_id>/products/<slug:product_id>", views.product_rename, name="product-rename"),
    path("api/videos/<uuid:video_id>/products/<slug:product_id>/remove", views.product_remove, name="product-remove"),
    path("api/tracks/<uuid:job_id>", views.track_overview, name="track-overview"),
    path("api/tracks/<uuid:job_id>/frames", views.track_frames, name="track-frames"),
    path("api/jobs/<uuid:job_id>/cancel", views.job_cancel, name="job-cancel"),
    path("admin/", admin.site.urls),
]
