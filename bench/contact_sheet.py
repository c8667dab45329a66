"""Write the contact sheet of every look and preset (docs/contact-sheet.png); see highlighter.render.sheet.

    .venv/bin/python bench/contact_sheet.py [--out docs/contact-sheet.png]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from highlighter.render.sheet import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
