"""The charting library, served from the installed ``plotly`` package at run time.

The Python package ships the complete Plotly.js bundle (MIT licence); nothing is
fetched from the internet and nothing is built. If ``plotly`` is not installed the
pages still work, with a note where the charts would be.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata, util
from pathlib import Path

__all__ = ["plotly_file"]

_FILES = {
    "plotly.min.js": "text/javascript; charset=utf-8",
    "plotly-LICENSE.txt": "text/plain; charset=utf-8",
}


def plotly_file(name: str) -> tuple[Path, str] | None:
    """``(path, media type)`` of a vendored file, or None if it is not available."""
    media_type = _FILES.get(name)
    if media_type is None:
        return None
    path = _bundle() if name == "plotly.min.js" else _licence()
    return None if path is None else (path, media_type)


@cache
def _bundle() -> Path | None:
    spec = util.find_spec("plotly")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


@cache
def _licence() -> Path | None:
    try:
        dist = metadata.distribution("plotly")
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if f.name.upper().startswith(("LICENSE", "LICENCE")):
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                return path
    return None
