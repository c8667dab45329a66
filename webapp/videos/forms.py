"""Forms. The looks, aspect presets and camera motions offered are the render engine's own tables
(``highlighter.render.presets``), so adding one there adds it here."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from highlighter.render.presets import ASPECTS, LOOK_CHOICES, MOTIONS
from webapp.videos.models import RenderJob
from webapp.videos.products import MAX_PRODUCTS, parse_descriptions

LOOKS = [(name, spec["label"]) for name, spec in LOOK_CHOICES.items()]
ASPECT_CHOICES = [(name, preset.label) for name, preset in ASPECTS.items()] + [(RenderJob.SOURCE, "Original framing")]
MOTION_CHOICES = [(name, preset.label) for name, preset in MOTIONS.items()]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True  # the upload script sends the files one request each


class VideoFileField(forms.FileField):
    """A file picker that lets the marketer choose several videos; each request carries one."""

    widget = MultipleFileInput
    default_error_messages = {
        "empty": "This file is empty. Upload an MP4, MOV or WebM video.",
        "required": "Choose a video to upload: an MP4, MOV or WebM file.",
    }

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            data = data[0] if data else None
        return super().clean(data, initial)


class OutputForm(forms.Form):
    """Which outputs to render: the looks (combined in each output) and one output per aspect preset."""

    style = forms.MultipleChoiceField(
        label="Looks", choices=LOOKS, initial=["spotlight"], widget=forms.CheckboxSelectMultiple
    )
    aspect = forms.MultipleChoiceField(
        label="Formats", choices=ASPECT_CHOICES, initial=["9:16"], widget=forms.CheckboxSelectMultiple
    )
    motion = forms.ChoiceField(label="Camera motion", choices=MOTION_CHOICES, initial="default", required=False)

    def clean_motion(self):
        return self.cleaned_data.get("motion") or "default"


def product_looks(value) -> dict[str, list[str]]:
    """The render API's ``looks``, ``{product id: [look, ...]}``, checked against the engine's looks."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
        raise ValidationError("Send each product's looks as {product id: [look, ...]}.")
    known = dict(LOOKS)
    for looks in value.values():
        for look in looks:
            if look not in known:
                raise ValidationError(f"There is no look called '{look}'. Choose one of: {', '.join(known.values())}.")
    return {str(k): list(v) for k, v in value.items()}


class DescriptionsInput(forms.TextInput):
    """One text box per product, all named ``description``: the plain form sends every one."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)


class DescriptionsField(forms.Field):
    """The products' descriptions, one per box (or one a line): a list of stripped strings."""

    widget = DescriptionsInput

    def to_python(self, value) -> list[str]:
        values = value if isinstance(value, (list, tuple)) else [value or ""]
        return parse_descriptions([str(v) for v in values])


class UploadForm(OutputForm):
    file = VideoFileField(label="Video", help_text="MP4, MOV or WebM. Choose several to highlight the same products in each.")
    description = DescriptionsField(
        label="Product",
        help_text=(
            "Name the product as you would to a colleague, with its colour: 'the red handbag'. "
            f"Several products in the video? Add one a box, up to {MAX_PRODUCTS}."
        ),
        widget=DescriptionsInput(attrs={"placeholder": "the red handbag", "autocomplete": "off"}),
    )
    auto_confirm = forms.BooleanField(
        label="Start tracking straight away (skip checking the product on a few frames)", required=False
    )
    field_order = ["file", "description", "style", "aspect", "motion", "auto_confirm"]

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
