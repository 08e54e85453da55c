"""Upstream feeds of planned work (RSS, Atom, CAP) read into outages.

fetch (HTTP with a timeout, a size cap and our own conditional headers) < rss, cap (a document
to :class:`~outage_notify.planning.sources.entries.MappedEntry` values) < apply (entries into
outages through the planning lifecycle) < poll (one source, or every due one) < registry
(add, list, remove).
"""

FORMATS = ("atom", "rss", "cap")  # here, light, for the CLI's choice
