"""A running pipeline's engine says that it is alive, so a run whose engine died is seen as such.

Argo keeps a workflow's state in the cluster, and a controller that dies is restarted and
carries on. A Clew engine runs where the user's code does (a laptop, a CI job, a notebook), and
nothing restarts it: killed (SIGKILL, the OOM killer, a machine gone) it would leave its run
RUNNING forever. So while it runs, the engine beats: every ``CLEW_PIPELINE_HEARTBEAT_S``
seconds (5) it stamps its pipeline run (``Client.pipeline_run_heartbeat``, one small write, not
audited), and a RUNNING run silent for three of its intervals reads as ``engine_lost`` through
``Client.get_pipeline_run`` and the REST API. Resuming a lost run ends it FAILED first, with
the reason (``pipelines.resume``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from clew.pipelines.state import PipelineState

log = logging.getLogger(__name__)


def heartbeat_interval(client: Any) -> float:
    """``CLEW_PIPELINE_HEARTBEAT_S`` of the client's own settings (local), else of this process."""
    settings = getattr(client.transport, "settings", None)
    if settings is None:
        from clew.core.settings import Settings

        settings = Settings()
    return float(settings.pipeline_heartbeat_s)


class Heartbeat:
    """Beats for pipeline run ``run_id`` on a thread of its own, from ``start`` to ``stop``."""

    def __init__(self, client: Any, run_id: str, interval_s: float) -> None:
        self.client = client
        self.run_id = run_id
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="clew-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self.interval_s + 5)

    def _beat(self) -> None:
        while True:
            try:
                info = self.client.pipeline_run_heartbeat(self.run_id, self.interval_s)
            except Exception as exc:  # the store or server unreachable: try again next time
                log.warning("pipeline run %s: heartbeat failed: %s", self.run_id, exc)
            else:
                if info.state != PipelineState.RUNNING.value:
                    return  # it ended (or was ended as lost): nothing to keep alive
            if self._stop.wait(self.interval_s):
                return
