"""`make screenshots`: the main pages at 360 px and 1280 px wide, in docs/screenshots/.

Runs the walk (tests/e2e/test_every_page.py) with SCREENSHOTS_DIR set, so the pictures show
the same realistic team the walk checks (a synced sandbox catalog, numbers bought, one with a
code, reports with data) and are only taken of pages that passed nothing less than the walk's
checks. Old pictures are removed first, so the folder holds exactly what the walk took.

    python scripts/screenshots.py [--out docs/screenshots]
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WALK = "tests/e2e/test_every_page.py::test_every_page_fits_the_window_and_passes_the_checks"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNG files")
    out = (ROOT / parser.parse_args().out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    env = {**os.environ, "SCREENSHOTS_DIR": str(out)}
    command = [sys.executable, "-m", "pytest", WALK, "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)
    pictures = sorted(out.glob("*.png"))
    print(f"{len(pictures)} screenshots in {out.relative_to(ROOT)}")
    if result.returncode != 0:
        print("The walk failed: its pictures may be incomplete (see the failures above).")
    return result.returncode or (0 if pictures else 1)


if __name__ == "__main__":
    sys.exit(main())
