"""What a marketer can choose when rendering: looks, aspect presets, camera motion, safe zones.

Plain constants with human labels, so the web app can build its forms from them and the engine
validates against the same tables. Sizes are output pixels; margins are fractions of the output's
width (left, right) or height (top, bottom); speeds are source frame sizes per second.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- looks ----------------------------------------------------------------------------------------

# Settings every look takes (see effects.Look); each look lists the ones it uses, with its defaults.
#   colour:   brand colour, "#rrggbb"
#   strength: 0..1, how strong the look is (dimming, tint or glow opacity, blur amount)
#   feather:  soft edge width as a fraction of the output's short side (0.006 is ~6 px at 1080 px)
LOOK_CHOICES: dict[str, dict] = {
    "spotlight": {
        "label": "Spotlight",
        "help": "Dim (and optionally desaturate) everything but the product.",
        "settings": {"strength": 0.65, "feather": 0.006, "desaturate": 0.0},
    },
    "glow": {
        "label": "Glow",
        "help": "A soft halo of colour around the product.",
        "settings": {"colour": "#ffd23f", "strength": 0.85, "feather": 0.03},
    },
    "outline": {
        "label": "Outline",
        "help": "A crisp line in your colour around the product's edge.",
        "settings": {"colour": "#ffffff", "strength": 1.0, "width": 0.006, "feather": 0.0015},
    },
    "tint": {
        "label": "Colour tint",
        "help": "Wash the product with your colour.",
        "settings": {"colour": "#ff3b6b", "strength": 0.35, "feather": 0.004},
    },
    "blur": {
        "label": "Blur background",
        "help": "Blur everything but the product.",
        "settings": {"strength": 1.0, "radius": 0.02, "feather": 0.008},
    },
    "box": {
        "label": "Box",
        "help": "A rounded frame around the product.",
        "settings": {"colour": "#ffffff", "strength": 1.0, "width": 0.005, "padding": 0.02},
    },
    "label": {
        "label": "Callout label",
        "help": "Your text next to the product, kept on screen.",
        "settings": {"colour": "#111111", "text_colour": "#ffffff", "strength": 0.9, "text": "", "size": 0.035},
    },
    "zoom": {
        "label": "Zoom inset",
        "help": "A magnified view of the product in a corner.",
        "settings": {"colour": "#ffffff", "strength": 1.0, "size": 0.34, "magnification": 2.0, "corner": "auto"},
    },
}

# --- several products ------------------------------------------------------------------------------

# Each product of a video gets a colour, in the marketer's order (the first product the first
# colour, the seventh the first again): its outline, glow, tint, box, label pill and zoom border in
# a render, and its overlay and timeline row in the review page (the web app shows the same colours).
# Saturated and bright, so they read over video, and far apart in hue: raspberry, sky blue,
# sunflower, mint, violet, orange. The first three (most videos have two or three products) stay
# apart with the commonest colour-vision deficiencies too (red-blue-yellow, and in lightness).
# A one-product render keeps each look's own default colour.
PRODUCT_COLOURS: tuple[str, ...] = ("#ff3b6b", "#2ec4ff", "#ffd23f", "#38e08c", "#b388ff", "#ff8a3d")


def product_colour(index: int) -> str:
    """The palette colour of the product at ``index`` (0-based, the marketer's order)."""
    return PRODUCT_COLOURS[index % len(PRODUCT_COLOURS)]


FADE_SECONDS = 0.3  # fade in and out where the product appears, hides or leaves
BRIDGE_SECONDS = 0.5  # shorter gaps in the track (a blink of an occlusion) keep the look on

# --- reframing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AspectPreset:
    label: str
    aspect: tuple[int, int]  # width:height
    size: tuple[int, int]  # output (width, height) in pixels


ASPECTS: dict[str, AspectPreset] = {
    "9:16": AspectPreset("Vertical 9:16 (Reels, TikTok, Shorts)", (9, 16), (1080, 1920)),
    "1:1": AspectPreset("Square 1:1", (1, 1), (1080, 1080)),
    "4:5": AspectPreset("Portrait 4:5 (feed)", (4, 5), (1080, 1350)),
    "16:9": AspectPreset("Landscape 16:9", (16, 9), (1920, 1080)),
}
# Any other "W:H" is a custom aspect (short side 1080 px); None or "source" keeps the framing.


@dataclass(frozen=True)
class MotionPreset:
    """How the virtual camera moves (the meaning of each trade-off is in reframe.py)."""

    label: str
    smoothing: float  # s: the path smoother's time constant; motions quicker than ~6x this are smoothed out
    dead_band: float  # fraction of the window the product may drift before the camera reacts
    max_speed: float  # source frame sizes per second
    # share of the room the product has inside the safe zone that the camera keeps it out of, each
    # side: 0 lets the product roam the whole safe zone (fewest moves), more keeps it nearer the middle
    follow: float = 0.0


MOTIONS: dict[str, MotionPreset] = {
    "slow": MotionPreset("Slow", smoothing=0.35, dead_band=0.10, max_speed=0.30, follow=0.0),
    "default": MotionPreset("Default", smoothing=0.22, dead_band=0.06, max_speed=0.55, follow=0.1),
    "fast": MotionPreset("Fast", smoothing=0.1, dead_band=0.03, max_speed=1.0, follow=0.3),
}


@dataclass(frozen=True)
class SafeZone:
    """Margins of the output the product should stay out of: fractions of its width or height."""

    label: str
    top: float
    bottom: float
    left: float
    right: float


# The platform zones keep the product clear of the account name and caption at the bottom, the
# like/comment/share column on the right and the top bar, as the platforms' creative guides show
# them for 1080x1920 (rounded up a little: the overlays differ by device and app version).
SAFE_ZONES: dict[str, SafeZone] = {
    "none": SafeZone("None", 0.0, 0.0, 0.0, 0.0),
    "default": SafeZone("Comfortable margin", 0.05, 0.05, 0.05, 0.05),
    "tiktok": SafeZone("TikTok", 0.08, 0.20, 0.05, 0.13),
    "reels": SafeZone("Instagram Reels", 0.12, 0.22, 0.05, 0.12),
    "shorts": SafeZone("YouTube Shorts", 0.08, 0.20, 0.05, 0.13),
}


def safe_zone(value: str | SafeZone | tuple[float, float, float, float] | None) -> SafeZone:
    """A ``SafeZone`` from a preset name, a zone, or custom ``(top, bottom, left, right)`` margins."""
    if value is None:
        return SAFE_ZONES["none"]
    if isinstance(value, SafeZone):
        zone = value
    elif isinstance(value, str):
        if value not in SAFE_ZONES:
            raise ValueError(f"There is no safe zone called '{value}'. Choose one of: {', '.join(SAFE_ZONES)}.")
        return SAFE_ZONES[value]
    else:
        top, bottom, left, right = (float(v) for v in value)
        zone = SafeZone("Custom", top, bottom, left, right)
    if zone.top + zone.bottom >= 0.9 or zone.left + zone.right >= 0.9 or min(
        zone.top, zone.bottom, zone.left, zone.right
    ) < 0:
        raise ValueError("Safe-zone margins must be at least 0 and leave at least a tenth of the picture.")
    return zone


def motion(value: str | MotionPreset) -> MotionPreset:
    if isinstance(value, MotionPreset):
        return value
    if value not in MOTIONS:
        raise ValueError(f"There is no camera motion called '{value}'. Choose one of: {', '.join(MOTIONS)}.")
    return MOTIONS[value]
