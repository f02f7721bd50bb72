"""The one writer of kerbfirst's Windows-shaped events (gss/logon_events.py builds them):
numbers each document and appends it as a JSON line through the audit-log writer
(store/audit_log.py: 0600, atomic appends, rotation).

The ingest drops a second event with the same (host, channel, EventRecordID), so numbers
must never repeat: each is the current time in microseconds times 1024 plus the process
id modulo 1024, and at least 1024 more than the process's previous one. A restarted
service and several worker processes (different pids) writing one log thus never reuse a
number, unless one process wrote more than an event per microsecond (2026's microsecond
clock times 1024 stays below 2**63).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping

from kerbfirst.store.audit_log import JsonLinesAuditLog

_STRIDE = 1024
_record_lock = threading.Lock()
_last_record_id = 0  # shared by every WindowsEventLog of this process


class WindowsEventLog:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._log = JsonLinesAuditLog(path)

    def write(self, doc: Mapping[str, object]) -> None:
        global _last_record_id
        stamp = (time.time_ns() // 1000) * _STRIDE + os.getpid() % _STRIDE
        with _record_lock:
            number = max(stamp, _last_record_id + _STRIDE)
            _last_record_id = number
        self._log.write({**doc, "EventRecordID": number})

    def close(self) -> None:
        self._log.close()


__all__ = ["WindowsEventLog"]
