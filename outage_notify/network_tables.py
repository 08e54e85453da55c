"""The pipe network's tables (``outage-notify network import``) and a network outage's pipes.

Re-exported by ``models``, which every caller imports them from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from outage_notify.db import UTCDateTime, utcnow


class NetworkInfo(SQLModel, table=True):
    """The imported pipe network (one per database: an import replaces the previous one)."""

    __tablename__ = "network_info"

    id: int | None = Field(default=None, primary_key=True)
    file: str = Field(max_length=500)
    utility: str = Field(default="water", max_length=8)
    valves_from: str = Field(max_length=16)  # file | strategic (derived by WNTR at import)
    # True when the node coordinates are WGS84 lon/lat, so customers can be linked by location.
    located: bool = False
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class NetworkNode(SQLModel, table=True):
    """A junction, reservoir or tank, with the valve segment it lies in."""

    __tablename__ = "network_node"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=16)  # junction | reservoir | tank (the last two are sources)
    x: float
    y: float
    segment: int = Field(index=True)


class NetworkLink(SQLModel, table=True):
    """A pipe (or pump, or control valve) between two nodes, with its valve segment."""

    __tablename__ = "network_link"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=16)  # pipe | pump | valve
    start_node: str = Field(max_length=64)
    end_node: str = Field(max_length=64)
    closed: bool = False  # closed in the INP file: it stays closed when isolating
    segment: int = Field(index=True)


class NetworkValve(SQLModel, table=True):
    """An isolation (gate) valve on ``link`` next to ``node``, as WNTR's valve layer has it."""

    __tablename__ = "network_valve"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    link: str = Field(max_length=64)
    node: str = Field(max_length=64)


class OutagePipe(SQLModel, table=True):
    """A pipe a network outage works on: its recipients come from isolating these."""

    __tablename__ = "outage_pipe"
    __table_args__ = (UniqueConstraint("outage_id", "pipe", name="uq_outage_pipe"),)

    id: int | None = Field(default=None, primary_key=True)
    outage_id: int = Field(foreign_key="outage.id", index=True)
    pipe: str = Field(max_length=64)
