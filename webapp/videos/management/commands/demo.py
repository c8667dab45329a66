"""Create the demo account and, the first time, a demo video going through the real pipeline."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from highlighter.eval.synthetic import make_moving_object_video
from webapp.videos import services
from webapp.videos.uploads import uploaded_file_from_path


class Command(BaseCommand):
    help = "Create (or reset the password of) the demo user and queue a demo video for it."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", required=True)

    def handle(self, *args, username: str, password: str, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.save(update_fields=["password"])

        demo_dir = Path(settings.VAR_DIR) / "demo"
        demo_dir.mkdir(parents=True, exist_ok=True)
        samples = {
            "red-ball.mp4": dict(colour="red", shape="ellipse", seed=1),
            "blue-box.mp4": dict(colour="blue", shape="rect", seed=2),
        }
        for name, params in samples.items():
            if not (demo_dir / name).exists():
                make_moving_object_video(demo_dir / name, width=1280, height=720, fps=25, seconds=4.0, **params)
        if not user.videos.exists():
            self._upload(user, demo_dir / "red-ball.mp4", "the red ball")
        self.stdout.write(f"Demo user '{username}' ready; sample videos in {demo_dir}")

    def _upload(self, user, path: Path, description: str) -> None:
        upload = uploaded_file_from_path(path)
        try:
            services.video_create(
                owner=user, uploaded_file=upload, description=description, styles=["spotlight"], aspects=["9:16"],
                auto_confirm=True,
            )
        finally:
            upload.close()
