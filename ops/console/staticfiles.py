"""plotly.js from the installed ``plotly`` package, as a static file.

The Python package ships the plotly.js bundle its figures are written for
(``plotly/package_data/plotly.min.js``); serving that one file keeps the two in step and
loads nothing from a CDN. It appears as ``console/vendor/plotly.min.js``: found by
``runserver``/WhiteNoise through this finder and copied by ``collectstatic`` like any
other static file (listed in ``STATICFILES_FINDERS``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, overload

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage, Error
from django.core.files.storage import FileSystemStorage

PREFIX = "console/vendor"
FILE = "plotly.min.js"
PLOTLY_JS = f"{PREFIX}/{FILE}"


def package_data() -> Path:
    return Path(plotly.__file__).resolve().parent / "package_data"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(package_data()))
        # collectstatic and WhiteNoise put a storage's files under its ``prefix``.
        self.storage.prefix = PREFIX  # type: ignore[attr-defined]

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        if not (package_data() / FILE).is_file():
            return [Error(f"plotly.js is missing from the plotly package ({package_data()})")]
        return []

    @overload
    def find(self, path: str, find_all: Literal[False] = False) -> str | None: ...

    @overload
    def find(self, path: str, find_all: Literal[True]) -> list[str]: ...

    def find(self, path: str, find_all: bool = False) -> str | list[str] | None:
        found = str(package_data() / FILE) if path == PLOTLY_JS else None
        if find_all:
            return [found] if found else []
        return found

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        yield FILE, self.storage
