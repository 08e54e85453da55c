"""A normal, non-editable install works away from the checkout: the wheel carries every file
the package reads at run time (templates, static files, migrations, the demo city), and
`init`, `--help`, the web app and the whole demo run from it.

The wheel is built offline (``--no-build-isolation --no-index``: the build backend is in the
project's .venv, see the ``test`` extra) from a copy of the sources, so no stale ``build/``
of the checkout leaks into it, and installed with ``--target`` into a directory of its own.
The project's dependencies come from this interpreter's site-packages; the checkout is not on
the path, and each run checks that ``outage_notify`` was imported from the install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("outage_notify", "channels")


def _run(args: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the wheel, the directory it is installed in)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    env = _clean_env()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run(
        [
            *pip,
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            "dist",
            str(source),
        ],
        cwd=base,
        env=env,
    )
    (wheel,) = (base / "dist").glob("outage_notify-*.whl")
    target = base / "site"
    _run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        cwd=base,
        env=env,
    )
    return wheel, target


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OUTAGE_NOTIFY_") and k not in ("PYTHONPATH", "PYTHONSAFEPATH")
    }
    return {**env, **extra}


def _python(target: Path, code: str, cwd: Path, **extra: str) -> str:
    """Run ``code`` with the install first on the path; it must import the installed copy."""
    check = (
        "import outage_notify, channels, pathlib, sys\n"
        f"site = pathlib.Path({str(target)!r}).resolve()\n"
        "for m in (outage_notify, channels):\n"
        "    where = pathlib.Path(m.__file__).resolve()\n"
        "    assert site in where.parents, f'{m.__name__} imported from {where}'\n"
    )
    env = _clean_env(PYTHONPATH=str(target), **extra)
    done = _run([sys.executable, "-c", check + code], cwd=cwd, env=env)
    return done.stdout


def test_the_wheel_carries_every_file_the_package_reads(installed: tuple[Path, Path]) -> None:
    wheel, _target = installed
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    wanted = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix != ".pyc"
        and not path.name.startswith(".")  # placeholders such as .keep
    }
    assert wanted - names == set()
    for needed in (
        "outage_notify/demo_data/customers.csv",
        "outage_notify/migrations/versions/0001_initial_schema.py",
        "outage_notify/web/static/site.css",
        "channels/static/banner.js",
    ):
        assert needed in names


def test_the_installed_package_initialises_and_serves(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _wheel, target = installed
    database = f"sqlite:///{tmp_path / 'outage-notify.db'}"
    out = _python(
        target,
        "from outage_notify.cli import main\n"
        "sys.argv = ['outage-notify', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n",
        tmp_path,
    )
    assert "demo" in out
    _python(
        target,
        "from outage_notify.cli import main\n"
        "sys.argv = ['outage-notify', 'init']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n",
        tmp_path,
        OUTAGE_NOTIFY_DATABASE_URL=database,
    )
    # What `serve` builds, asked for its pages and the files it serves from the package.
    out = _python(
        target,
        "from fastapi.testclient import TestClient\n"
        "from outage_notify.db import Database\n"
        "from outage_notify.settings import Settings\n"
        "from outage_notify.web.app import create_app\n"
        f"settings = Settings.model_validate({{'database_url': {database!r},"
        " 'web': {'secret_key': 'k' * 32}})\n"
        "client = TestClient(create_app(settings, Database(settings.database_url)))\n"
        "for path in ('/', '/static/site.css', '/banner.js', '/feeds/outages.rss', '/docs'):\n"
        "    response = client.get(path)\n"
        "    assert response.status_code == 200, (path, response.status_code)\n"
        "print('served')\n",
        tmp_path,
    )
    assert "served" in out


def test_the_installed_package_runs_the_demo(installed: tuple[Path, Path], tmp_path: Path) -> None:
    _wheel, target = installed
    elsewhere = tmp_path / "elsewhere"  # no checkout, no config file, nothing beside it
    elsewhere.mkdir()
    out = _python(
        target,
        "from outage_notify.cli import main\n"
        "sys.argv = ['outage-notify', 'demo', '--dir', 'run']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n",
        elsewhere,
        COLUMNS="200",
    )
    assert "Demo city Lanxi Bay: 18 service areas, 3,000 customers" in out
    assert "restored service for WO-2026-0415" in out
    assert (elsewhere / "run" / "outbox" / "sms.jsonl").stat().st_size > 0
    assert (elsewhere / "run" / "public" / "feeds" / "outages.rss").is_file()
