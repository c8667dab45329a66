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
    path("api/videos/<uuid:video_id>/status", views.video_status, name="video-status"),
    path("renders/<uuid:job_id>/download", views.render_download, name="render-download"),
    path("admin/", admin.site.urls),
]
