from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.planning.sources.feed_server import FeedServer, running


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    yield from running()
