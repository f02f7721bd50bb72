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
"""

from __future__ import annotations

import os
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from kerbfirst.policy import Policy, PolicyError

MAX_POLICY_FILE = 16 * 1024 * 1024


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
