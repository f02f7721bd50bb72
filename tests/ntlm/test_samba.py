"""`kerbfirst policy export-samba` against a real Samba (Debian's smbd, testparm, smbclient):
NTLM is refused with NT_STATUS_NTLM_BLOCKED, allowed for an excepted client IP, refused
again once the regenerated export no longer carries the expired exception; what Samba
cannot express (an account-limited exception) is not exported."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ntlm.test_policy_cli import Cli

SMB_CONF = """[global]
   netbios name = FS01
   workgroup = CORP
   server role = standalone server
   interfaces = lo
   bind interfaces only = yes
   smb ports = {port}
   disable netbios = yes
   private dir = {d}/priv
   lock directory = {d}/lock
   state directory = {d}/state
   cache directory = {d}/cache
   pid directory = {d}/pid
   ncalrpc dir = {d}/ncalrpc
   log file = {d}/smbd.log
   passdb backend = tdbsam:{d}/priv/passdb.tdb
   load printers = no
   printing = bsd
   printcap name = /dev/null
   disable spoolss = yes
   include = {d}/kf/smb-ntlm.conf
[data]
   path = {d}/share
   read only = no
"""


def _need(program: str) -> str:
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/usr/bin")
    if path is None:
        pytest.fail(f"{program} is missing: apt-get install samba smbclient")
    return path


class Samba:
    def __init__(self, d: Path) -> None:
        for sub in ("priv", "lock", "state", "cache", "pid", "share", "kf"):
            (d / sub).mkdir(parents=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.conf = d / "smb.conf"
        self.conf.write_text(SMB_CONF.format(port=self.port, d=d))
        self.kf = d / "kf"
        subprocess.run([_need("smbpasswd"), "-c", str(self.conf), "-a", "-s", "root"],
                       input="pw-Samba-1\npw-Samba-1\n", text=True, check=True, timeout=30,
                       capture_output=True)
        self.proc = subprocess.Popen(
            [_need("smbd"), "--foreground", "--no-process-group", "-s", str(self.conf),
             "--debug-stdout", "-d", "1"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True)  # smbd signals its whole process group on exit
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("smbd did not start") from None
                time.sleep(0.1)

    def smbclient(self) -> str:
        out = subprocess.run(
            [_need("smbclient"), "//127.0.0.1/data", "-p", str(self.port),
             "-U", "root%pw-Samba-1", "-c", "ls", "--option=client use kerberos=off"],
            capture_output=True, text=True, timeout=30, check=False)
        return out.stdout + out.stderr

    def testparm(self) -> str:
        out = subprocess.run([_need("testparm"), "-s", str(self.conf)], capture_output=True,
                             text=True, timeout=30, check=False)
        assert out.returncode == 0, out.stderr
        return out.stdout + out.stderr

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def samba(tmp_path: Path) -> Iterator[Samba]:
    s = Samba(tmp_path / "samba")
    yield s
    s.close()


def test_samba_enforces_the_exported_policy(samba: Samba, tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli("init", "--mode", "enforce", "--estate", "--max-days", "90")
    cli("export-samba", "--server", "FS01", "--out", str(samba.kf))
    assert "ntlm auth = disabled" in samba.testparm()
    assert "NT_STATUS_NTLM_BLOCKED" in samba.smbclient()
    # an exception for another account only: Samba cannot say that, so nothing opens up
    cli.add("EX-ACCT", "FS01", "2026-12-10", "--client", "127.0.0.1", "--user", "CORP\\svc")
    cli("export-samba", "--server", "FS01", "--out", str(samba.kf))
    assert "not exported: EX-ACCT" in (samba.kf / "smb-ntlm.conf").read_text()
    assert "NT_STATUS_NTLM_BLOCKED" in samba.smbclient()
    # the excepted client: NTLMv2 goes through
    cli.add("EX-LOOP", "FS01", "2026-12-10", "--client", "127.0.0.1")
    cli("export-samba", "--server", "FS01", "--out", str(samba.kf))
    samba.testparm()
    listing = samba.smbclient()
    assert "NT_STATUS" not in listing and "blocks of size" in listing
    # regenerated after the expiry: the client's file is gone, NTLM is refused again
    cli("export-samba", "--server", "FS01", "--out", str(samba.kf),
        now="2026-12-11T08:00:00+00:00")
    assert not (samba.kf / "ntlm-client-127.0.0.1.conf").exists()
    assert "NT_STATUS_NTLM_BLOCKED" in samba.smbclient()
