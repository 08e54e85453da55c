"""``python -m outage_notify``: the same as the ``outage-notify`` command."""

from outage_notify.cli import main

main()
