"""The HTTP client the Twilio channel hands to twilio-python: one session per thread."""

from __future__ import annotations

import logging
import threading

import requests
from twilio.http import HttpClient
from twilio.http.response import Response


class SessionPerThread(HttpClient):
    """A twilio ``HttpClient`` with one ``requests.Session`` per thread.

    twilio's own client shares one session and one "last response" between threads and logs
    query strings (the recipient's number) at INFO; this one does neither, and keeps each
    thread's last response so a 429's ``Retry-After`` can be read after the exception.
    """

    def __init__(self, timeout: float) -> None:
        quiet = logging.getLogger("channels.sms.http")
        super().__init__(quiet, is_async=False, timeout=timeout)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self, uri: str) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # Every request goes to one endpoint: read the environment's proxy and CA bundle
            # settings once, not on every send (requests re-reads them per call otherwise,
            # which cost a third of a send's CPU time in the dispatcher benchmark).
            settings = session.merge_environment_settings(uri, {}, None, None, None)
            session.trust_env = False
            session.proxies.update(settings["proxies"])
            session.verify = settings["verify"]
            session.cert = settings["cert"]
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        self._local.last_response = None
        response = self._session(uri).request(
            method.upper(),
            uri,
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout or self.timeout,
            allow_redirects=allow_redirects,
        )
        result = Response(int(response.status_code), response.text, response.headers)
        self._local.last_response = result
        return result

    def last_response(self) -> Response | None:
        """The response this thread received last (None after a network error)."""
        value: Response | None = getattr(self._local, "last_response", None)
        return value

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
