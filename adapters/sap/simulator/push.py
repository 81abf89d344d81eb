"""``--push-to``: send the seed IDocs to a receiver as an SAP XML-HTTP port does.

Each document is POSTed as IDoc-XML (``Content-Type: application/xml``, basic auth when
given) and retried until the receiver answers 2xx or the simulator stops.
"""

from __future__ import annotations

import base64
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from adapters.sap.simulator.seeds import SeedDocument

__all__ = ["PushResult", "Pusher"]

log = logging.getLogger(__name__)


@dataclass
class PushResult:
    origin: str
    status: int = 0
    attempts: int = 0


@dataclass
class Pusher:
    """Pushes the documents in a background thread; ``done`` is set when all are delivered."""

    url: str
    documents: list[SeedDocument]
    user: str | None = None
    password: str | None = None
    first_delay_s: float = 0.2
    max_delay_s: float = 5.0
    timeout_s: float = 10.0
    results: list[PushResult] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sap-sim-push", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s + 1)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/xml"}
        if self.user is not None:
            token = base64.b64encode(f"{self.user}:{self.password or ''}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return headers

    def _post(self, body: bytes) -> int:
        request = urllib.request.Request(self.url, data=body, headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError) as exc:
            log.info("push to %s failed: %s", self.url, exc)
            return 0

    def _run(self) -> None:
        for document in self.documents:
            for body in document.xml:
                result = PushResult(document.origin)
                delay = self.first_delay_s
                while not self._stop.is_set():
                    result.attempts += 1
                    result.status = self._post(body)
                    if 200 <= result.status < 300:
                        break
                    log.warning("push of %s answered %s; retrying in %.1fs", document.origin, result.status, delay)
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.max_delay_s)
                self.results.append(result)
                if self._stop.is_set():
                    return
        self.done.set()
