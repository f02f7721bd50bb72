"""The NTLM policy file as a running service sees it: reloaded when it changes, atomically,
and a bad file never replaces a good policy.

`PolicyFile.current()` is what the NTLM governor calls per attempt (gss/ntlm_governed.py):
it stats the file (at most every `check_interval` seconds), and when the file's identity
(inode, size, mtime) changed it parses the whole file into a new `Policy` and swaps the
one reference to it; a reader sees the old policy or the new one, never a mix. When the
new file is unreadable, not TOML or not a valid policy, the last good policy stays in
force and `error` says why (the `on_error` callback hears it once per bad version of the
file). With no good policy ever loaded, `current()` returns None and NTLM is refused.
`on_change` hears each new policy (the NT hash store sweeps the credentials of revoked
exceptions then).

`NtlmEventLog` numbers the governor's Windows-shaped events and appends them as JSON lines
through the one audit-log writer (store/audit_log.py). The ingest drops a second event with
the same (host, channel, EventRecordID), so numbers must never repeat: each is the current
time in microseconds times 1024 plus the process id modulo 1024, and at least 1024 more
than the process's previous one. A restarted service and several worker processes
(different pids) writing one log thus never reuse a number, unless one process wrote more
than an event per microsecond (2026's microsecond clock times 1024 stays below 2**63).
"""

from __future__ import annotations

import os
import threading
import time
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path

from kerbfirst.policy import Policy, PolicyError
from kerbfirst.store.audit_log import JsonLinesAuditLog

MAX_POLICY_FILE = 16 * 1024 * 1024
_STRIDE = 1024
_record_lock = threading.Lock()
_last_record_id = 0  # shared by every NtlmEventLog of this process


def load_policy_file(path: str | os.PathLike[str]) -> Policy:
    """Read and validate one policy file; PolicyError says what is wrong and where."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_POLICY_FILE + 1)
    except OSError as exc:
        raise PolicyError(f"{p}: cannot read the policy file: {exc.strerror}") from None
    if len(raw) > MAX_POLICY_FILE:
        raise PolicyError(f"{p}: larger than {MAX_POLICY_FILE} bytes; not a policy file")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{p}: not valid TOML: {exc}") from None
    try:
        return Policy.from_dict(data)
    except PolicyError as exc:
        raise PolicyError(f"{p}: {exc}") from None


class PolicyFile:
    def __init__(self, path: str | os.PathLike[str], *, check_interval: float = 1.0,
                 on_error: Callable[[str], None] | None = None,
                 on_change: Callable[[Policy], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.check_interval = check_interval
        self.error: str | None = None
        self._on_error = on_error
        self._on_change = on_change
        self._clock = clock
        self._policy: Policy | None = None
        self._seen: tuple[int, int, int] | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self.reload()

    def current(self) -> Policy | None:
        if self._clock() - self._checked >= self.check_interval:
            self.reload()
        return self._policy

    def reload(self, *, force: bool = False) -> bool:
        """Re-read the file if it changed (or `force`); True when a new policy took effect."""
        with self._lock:
            self._checked = self._clock()
            try:
                st = os.stat(self.path)
                identity = (st.st_ino, st.st_size, st.st_mtime_ns)
            except OSError as exc:
                identity = (-1, -1, -1)
                if identity != self._seen:
                    self._seen = identity
                    self._fail(f"{self.path}: cannot read the policy file: {exc.strerror}")
                return False
            if identity == self._seen and not force:
                return False
            self._seen = identity
            try:
                policy = load_policy_file(self.path)
            except PolicyError as exc:
                self._fail(str(exc))
                return False
            self._policy = policy  # one reference swap: readers see old or new
            self.error = None
        if self._on_change is not None:
            self._on_change(policy)  # e.g. NtHashStore.sweep: credentials die with revocation
        return True

    def _fail(self, message: str) -> None:
        kept = ("; the last good policy stays in force" if self._policy is not None
                else "; no policy is in force, so NTLM is refused")
        self.error = message + kept
        if self._on_error is not None:
            self._on_error(self.error)


class NtlmEventLog:
    def __init__(self, path: str | os.PathLike[str]) -> None:
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
