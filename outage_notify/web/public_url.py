"""Whether ``public_url`` will do in production, said once at start-up.

Twilio signs and posts its callbacks to ``public_url`` (and wants https there), and RFC 8058
one-click unsubscribe links in email must be https. Plain http is fine on loopback only
(development, the demo); anywhere else it is a warning, not an error: a TLS proxy may still
be set up in front.
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


def insecure_public_url(public_url: str) -> str | None:
    """Why ``public_url`` is not fit for production, or None when it is https or loopback."""
    parts = urlsplit(public_url)
    if parts.scheme == "https":
        return None
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return (
        f"public_url {public_url} is not https: Twilio's status callbacks and inbound SMS "
        "and RFC 8058 one-click unsubscribe need https in production (set public_url to the "
        "https address a TLS proxy serves)"
    )


def warn_if_insecure(public_url: str) -> str | None:
    """Log the warning when there is one; returns it."""
    warning = insecure_public_url(public_url)
    if warning is not None:
        log.warning(warning)
    return warning
