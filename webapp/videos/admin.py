from django.contrib import admin

from webapp.videos.models import Product, RenderJob, TrackJob, Video


class ProductInline(admin.TabularInline):
    model = Product
    extra = 0
    fields = ("slug", "name", "colour", "looks", "position")


class TrackJobInline(admin.TabularInline):
    model = TrackJob
    extra = 0
    fields = ("version", "kind", "status", "stage", "progress", "backend_used", "error", "created_at")
    readonly_fields = fields
    show_change_link = True


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "status", "original_size", "created_at")
    list_filter = ("status",)
    search_fields = ("title", "owner__username")
    readonly_fields = ("id", "original_key", "mezzanine_key", "proxy_key", "thumbnail_key", "probe", "info")
    inlines = [ProductInline, TrackJobInline]


class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "stage", "progress", "attempts", "created_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = ("id", "started_at", "finished_at", "heartbeat_at", "attempts")


@admin.register(TrackJob)
class TrackJobAdmin(JobAdmin):
    list_display = (*JobAdmin.list_display, "version", "kind", "backend_used")


@admin.register(RenderJob)
class RenderJobAdmin(JobAdmin):
    list_display = (*JobAdmin.list_display, "style", "aspect", "motion")
