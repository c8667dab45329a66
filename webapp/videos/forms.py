from __future__ import annotations

from django import forms
from django.conf import settings

from webapp.videos.models import RenderJob


class UploadForm(forms.Form):
    file = forms.FileField(label="Video", help_text="MP4, MOV or WebM.")
    description = forms.CharField(
        label="Product",
        max_length=300,
        help_text="Name the product as you would to a colleague, with its colour: 'the red handbag'.",
        widget=forms.TextInput(attrs={"placeholder": "the red handbag", "autocomplete": "off"}),
    )
    style = forms.ChoiceField(label="Highlight", choices=RenderJob.Style.choices, initial=RenderJob.Style.SPOTLIGHT)
    aspect = forms.ChoiceField(label="Format", choices=RenderJob.Aspect.choices, initial=RenderJob.Aspect.PORTRAIT)

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size == 0:
            raise forms.ValidationError("This file is empty. Upload an MP4, MOV or WebM video.")
        if f.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(too_large_message())
        return f


def too_large_message() -> str:
    limit = settings.UPLOAD_MAX_BYTES
    size = f"{limit / 1024**3:.1f} GB" if limit >= 1024**3 else f"{limit / 1024**2:.0f} MB"
    return f"This file is larger than the {size} limit. Export a shorter or smaller version and upload that."
