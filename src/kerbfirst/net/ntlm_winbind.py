"""Domain accounts for the NTLM acceptor: Samba winbind's `ntlm_auth` helper as an
`NtlmVerifier` (gss/ntlm.py).

`ntlm_auth --helper-protocol=ntlm-server-1` (Samba's ntlm_auth(1)) reads a block of
`Key: value` lines ended by a line ".", checks the response against the domain through
winbindd (which holds the machine account's secure channel to a DC, MS-NRPC), and answers
with a block of its own:

    LANMAN-Challenge: <server challenge, hex>       Authenticated: Yes
    NT-Response: <NtChallengeResponse, hex>         User-Session-Key: <hex>
    Username:: <base64 UTF-8>                       .
    NT-Domain:: <base64 UTF-8>
    Request-User-Session-Key: Yes                   Authenticated: No
    .                                               Authentication-Error: <text>
                                                    .

`Key:: value` carries base64, so a name with any character passes unmangled. The
User-Session-Key is NTLMv2's SessionBaseKey, which is all the acceptor needs to check the
MIC (MS-NLMP 3.3.2). The helper is one long-lived process, asked one block at a time; a
reply that does not come within `timeout` seconds, or a dead helper, is a refusal (the
helper is restarted for the next request), never a hang.

The policy is asked before the verifier (gss/ntlm.py), so a blocked flow never reaches
the domain controller.
"""

from __future__ import annotations

import base64
import os
import selectors
import subprocess
import threading
import time
from collections.abc import Sequence

from kerbfirst.gss.ntlm import Verified, VerifyStatus

MAX_REPLY = 64 * 1024
DEFAULT_COMMAND = ("ntlm_auth", "--helper-protocol=ntlm-server-1")


class WinbindError(Exception):
    """The helper could not be asked; the message says what to check."""


class WinbindVerifier:
    def __init__(self, command: Sequence[str] = DEFAULT_COMMAND, *, timeout: float = 10.0,
                 unknown_user_markers: Sequence[str] = ("NT_STATUS_NO_SUCH_USER",)) -> None:
        self.command = tuple(command)
        self.timeout = timeout
        self._unknown = tuple(unknown_user_markers)
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.last_error = ""

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            try:
                self._proc = subprocess.Popen(self.command, stdin=subprocess.PIPE,
                                              stdout=subprocess.PIPE,
                                              stderr=subprocess.DEVNULL)
            except OSError as exc:
                raise WinbindError(
                    f"cannot run {self.command[0]}: {exc.strerror}; install Samba's winbind "
                    "(Debian: apt-get install winbind) and join the domain") from None
        return self._proc

    def ask(self, fields: Sequence[tuple[str, str | bytes]]) -> dict[str, str]:
        """One request block; the reply's fields (base64 values decoded)."""
        lines = []
        for key, value in fields:
            if isinstance(value, bytes):
                lines.append(f"{key}: {value.hex()}")
            else:
                lines.append(f"{key}:: {base64.b64encode(value.encode()).decode()}")
        block = ("\n".join(lines) + "\n.\n").encode()
        with self._lock:
            proc = self._start()
            try:
                if proc.stdin is None:
                    raise WinbindError("the helper has no stdin")
                proc.stdin.write(block)
                proc.stdin.flush()
                raw = self._read_block(proc)
            except (OSError, WinbindError) as exc:
                self.close()
                raise WinbindError(f"{self.command[0]}: {exc}") from None
        return _parse(raw)

    def _read_block(self, proc: subprocess.Popen[bytes]) -> bytes:
        if proc.stdout is None:
            raise WinbindError("the helper has no stdout")
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + self.timeout
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while not (buf.startswith(b".\n") or b"\n.\n" in buf):
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise WinbindError(f"no answer within {self.timeout} s")
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise WinbindError("the helper exited")
                buf += chunk
                if len(buf) > MAX_REPLY:
                    raise WinbindError("reply larger than any helper reply")
        return buf

    def verify(self, user: str, domain: str, server_challenge: bytes,
               nt_response: bytes) -> Verified:
        try:
            reply = self.ask([("LANMAN-Challenge", server_challenge),
                              ("NT-Response", nt_response), ("Username", user),
                              ("NT-Domain", domain), ("Request-User-Session-Key", "Yes")])
        except WinbindError as exc:
            self.last_error = str(exc)
            return Verified(VerifyStatus.UNAVAILABLE, detail=self.last_error)
        if reply.get("Authenticated", "").casefold() != "yes":
            self.last_error = reply.get("Authentication-Error", "refused by the domain")
            if any(m in self.last_error for m in self._unknown):
                return Verified(VerifyStatus.UNKNOWN_USER, detail=self.last_error)
            return Verified(VerifyStatus.BAD_PASSWORD, detail=self.last_error)
        try:
            key = bytes.fromhex(reply.get("User-Session-Key", ""))
        except ValueError:
            key = b""
        if len(key) != 16:
            self.last_error = "the helper gave no 16-byte User-Session-Key"
            return Verified(VerifyStatus.UNAVAILABLE, detail=self.last_error)
        return Verified(VerifyStatus.OK, key, user)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait(timeout=5)


def _parse(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        if line == ".":
            break
        key, sep, value = line.partition(":")
        if not sep:
            continue
        if value.startswith(":"):
            try:
                value = base64.b64decode(value[1:].strip()).decode("utf-8", "replace")
            except ValueError:
                value = ""
        out[key.strip()] = value.strip()
    return out
