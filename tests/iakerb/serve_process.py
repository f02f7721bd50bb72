"""`kerbfirst iakerb serve` as a real process on a free loopback port, stopped by SIGTERM
(which must end it cleanly, exit 0): what the IAKerb and NTLM sample-server tests run."""

from __future__ import annotations

import signal
import subprocess
import sys

from peerlib import free_port, wait_listening

KF = [sys.executable, "-m", "kerbfirst.cli.main"]


class Serve:
    def __init__(self, args: list[str]) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [*KF, "iakerb", "serve", "--listen", f"127.0.0.1:{self.port}", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_listening(self.port, self.proc)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=15)
        assert self.proc.returncode == 0, out
        return out
