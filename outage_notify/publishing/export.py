"""``outage-notify feeds export DIR``: the public documents as static files, for any static
web server or CDN, laid out like the live URLs so links keep working.

Everything is rendered in memory first; then each file is written to a temporary name and
renamed into place, so a server reading the directory meanwhile never sees half a file.
Filters (``?utility=``, ``?area=``) need the live server; the export has the whole feeds, a
``banner.json`` for all areas and one per area under ``banner/``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path

from channels.banner import BANNER_JS
from outage_notify.db import Database
from outage_notify.errors import OutageNotifyError
from outage_notify.publishing.documents import Publisher
from outage_notify.publishing.html import render_html
from outage_notify.publishing.publication import (
    OutageFilter,
    read_all_revisions,
    read_snapshot,
    unpublishable,
)
from outage_notify.publishing.site_pages import index_context, outage_context
from outage_notify.settings import Settings

STATIC_FILES = ("site.css", "banner.css")


@dataclass
class ExportResult:
    directory: Path
    files: list[str] = field(default_factory=list)  # relative paths, in writing order
    outages: int = 0
    alerts: int = 0
    areas: int = 0


def render_site(settings: Settings, database: Database, *, now: datetime) -> dict[str, bytes]:
    """Every file of the export, by relative path."""
    publisher = Publisher(settings)
    everything = OutageFilter()
    language = settings.default_language
    with database.read() as session:
        snapshot = read_snapshot(session, settings, now=now)
        revisions = read_all_revisions(session, settings, [o.id for o in snapshot.outages])
    files: dict[str, bytes] = {
        # In the default language, which the files' URLs do not name (their self links).
        "feeds/outages.rss": publisher.rss(snapshot, everything, None),
        "feeds/outages.atom": publisher.atom(snapshot, everything, None),
        "feeds/outages.ics": publisher.ics(snapshot, everything, None),
        "feeds/cap.atom": publisher.cap_index(snapshot, everything, None),
        # Carries outages not yet due too: the script shows each in its own time window.
        "banner.json": publisher.banner(snapshot, None, now, ahead_of_time=True),
        "banner.js": BANNER_JS,
    }
    for code in sorted(snapshot.areas):
        files[f"banner/{code}.json"] = publisher.banner(snapshot, code, now, ahead_of_time=True)
    for outage in revisions:
        try:
            files[f"cap/{outage.id}-{outage.revision}.xml"] = publisher.cap_alert(outage, now)
        except Exception as exc:  # an old revision that cannot be rendered: log, go on
            unpublishable(outage.id, exc)
    context = index_context(
        settings, snapshot.outages, snapshot.area_names(), everything, language, now
    )
    files["index.html"] = render_html(
        "index.html", language=language, settings=settings, static=True, **context
    ).encode()
    for outage in snapshot.outages:
        page = render_html(
            "outage.html",
            language=language,
            settings=settings,
            static=True,
            **outage_context(settings, outage, language, now, snapshot.areas),
        )
        files[f"outages/{outage.id}/index.html"] = page.encode()
    static = resources.files("outage_notify").joinpath("web/static")
    for name in STATIC_FILES:
        files[f"static/{name}"] = static.joinpath(name).read_bytes()
    return files


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_site(
    settings: Settings,
    database: Database,
    directory: Path,
    *,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    if directory.exists() and not directory.is_dir():
        raise OutageNotifyError(f"{directory} exists and is not a directory")
    files = render_site(settings, database, now=now)
    result = ExportResult(directory=directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for relative, data in files.items():
            write_atomically(directory / relative, data)
            result.files.append(relative)
            if progress is not None:
                progress(len(result.files), len(files))
    except OSError as error:
        raise OutageNotifyError(f"cannot write the export to {directory}: {error}") from None
    result.outages = sum(1 for f in files if f.startswith("outages/"))
    result.alerts = sum(1 for f in files if f.startswith("cap/"))
    result.areas = sum(1 for f in files if f.startswith("banner/"))
    return result
