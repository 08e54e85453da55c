"""The demo city, Lanxi Bay: its settings and its data, shipped inside the package.

The data lives in ``outage_notify/demo_data/`` (made by ``config/demo/generate.py``, the
outages written by hand) and is read through :mod:`importlib.resources`, so the demo runs
from an installed wheel as well as from a checkout.
"""

from __future__ import annotations

import csv
import io
import secrets
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from sqlmodel import col, func, select

from outage_notify import migrations, registry
from outage_notify.db import Database
from outage_notify.models import Customer
from outage_notify.planning import areas, customers
from outage_notify.planning.customer_import import import_customers
from outage_notify.residents import optouts
from outage_notify.settings import Settings

DEMO_DATA: Traversable = resources.files("outage_notify").joinpath("demo_data")
DEMO_FILES = ("areas.geojson", "customers.csv", "opt_outs.csv", "outages.csv")
ACTOR = "demo"
# Where the critical-needs ladder emails its door-knock list (into the email outbox).
CREWS = "crews@example.org"

Say = Callable[[str], None]


def demo_settings(directory: Path, *, port: int = 8080) -> Settings:
    """Built-in defaults, with everything pointed into ``directory`` and no credentials.

    The file backends take as many messages a second as the disk does, so the caps go up.
    """
    return Settings.model_validate(
        {
            "database_url": f"sqlite:///{directory / 'outage-notify.db'}",
            "public_url": f"http://127.0.0.1:{port}",
            "sms": {
                "backend": "file",
                "file_path": str(directory / "outbox" / "sms.jsonl"),
                "max_per_second": 10_000.0,
            },
            "email": {
                "backend": "file",
                "file_dir": str(directory / "outbox" / "email"),
                "max_per_second": 10_000.0,
            },
            # Calls to landlines (and to those who ask) as TwiML files: nothing is dialled.
            "voice": {
                "backend": "file",
                "file_dir": str(directory / "outbox" / "voice"),
                "max_per_second": 10_000.0,
            },
            "critical": {"dispatch_email": CREWS},
            "web": {"port": port, "secret_key": secrets.token_urlsafe(32)},
            # The demo city's own utilities, as a deployment configures its own in [utility].
            "utility": {
                "water_name": "海港水务",
                "water_name_en": "Harbour City Water",
                "gas_name": "海港燃气",
                "gas_name_en": "Harbour City Gas",
                "water_sms_signature": "【海港水务】",
                "gas_sms_signature": "【海港燃气】",
            },
        }
    )


def missing_files() -> list[str]:
    """The demo city's files the installed package lacks (a broken install)."""
    return [name for name in DEMO_FILES if not DEMO_DATA.joinpath(name).is_file()]


def read_rows(name: str) -> list[dict[str, str]]:
    """One of the demo city's CSV files, as rows."""
    text = DEMO_DATA.joinpath(name).read_bytes().decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def prepare(directory: Path) -> Database:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    database = Database(f"sqlite:///{directory / 'outage-notify.db'}")
    migrations.upgrade(database)
    return database


def load_city(database: Database, settings: Settings, say: Say) -> None:
    """The demo city's areas, customers and the residents who opted out."""
    with resources.as_file(DEMO_DATA.joinpath("areas.geojson")) as path:
        drafts = areas.read_areas(path)
    with database.session() as session:
        areas.import_areas(session, drafts, actor=ACTOR)
    with resources.as_file(DEMO_DATA.joinpath("customers.csv")) as path:
        imported = import_customers(database, path, settings=settings, actor=ACTOR)
    opted = 0
    with database.session() as session:
        for row in read_rows("opt_outs.csv"):
            customer = customers.find_customer(session, row["account_id"])
            address = getattr(customer, registry.spec(row["channel"]).contact)
            if address:  # as if the resident had replied STOP or unsubscribed
                opted += optouts.opt_out(
                    session,
                    channel=row["channel"],
                    address=address,
                    source=row["channel"],
                    actor=ACTOR,
                )
        landlines = session.exec(
            select(func.count()).select_from(Customer).where(col(Customer.landline))
        ).one()
        critical = session.exec(
            select(func.count()).select_from(Customer).where(col(Customer.critical))
        ).one()
    say(
        f"Demo city Lanxi Bay: {len(drafts)} service areas, {imported.inserted:,} customers "
        f"({landlines} on landlines, {critical} critical-needs), {opted} opt-outs."
    )


def shifted_outages(directory: Path, settings: Settings, now: datetime) -> Path:
    """The demo's outages.csv with its times moved so the first work starts two days from
    now at 09:00 local (inside the banner's 72 hours when served), keeping the gaps."""
    rows = read_rows("outages.csv")
    starts = [datetime.fromisoformat(r["start"]) for r in rows]
    first = (now.astimezone(settings.zone) + timedelta(days=2)).replace(
        hour=9, minute=0, second=0, microsecond=0, tzinfo=None
    )
    delta = first - min(starts)
    target = directory / "outages.csv"
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            for key in ("start", "end"):
                row[key] = (datetime.fromisoformat(row[key]) + delta).isoformat(timespec="minutes")
            writer.writerow(row)
    return target
