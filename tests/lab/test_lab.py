"""`kerbfirst lab` as a user runs it (root, ip netns): `run` from nothing to the report,
`up` / `report` / `down`, a step made to misbehave (non-zero exit naming the step), and
`down` after a killed run removing every namespace and process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kerbfirst.lab import netns
from peerlib import require_program

pytestmark = [pytest.mark.peer, pytest.mark.netns]

KF = [sys.executable, "-m", "kerbfirst.cli.main"]
PEERS = ("ip", "krb5kdc", "kdb5_util", "kadmin.local", "kinit", "curl", "gss-client")


@pytest.fixture(autouse=True)
def _root_and_peers() -> None:
    if os.geteuid() != 0:
        pytest.fail("the lab tests need root (ip netns add); run CI as root", pytrace=False)
    for name in PEERS:
        require_program(name)


def _lab(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KF, "lab", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def _ours(directory: Path) -> list[str]:
    return netns.existing(netns.tag_for(directory))


def test_a_directory_that_is_not_a_lab_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "mine.txt").write_text("not the lab's")
    for command in ("run", "up"):
        done = _lab(command, "--dir", str(tmp_path), timeout=60)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "is not empty and holds no lab" in done.stderr, done.stderr
    assert (tmp_path / "app" / "mine.txt").read_text() == "not the lab's"
    assert _ours(tmp_path) == []


def test_lab_run_from_nothing_to_the_report(tmp_path: Path) -> None:
    t0 = time.monotonic()
    done = _lab("run", "--dir", str(tmp_path))
    elapsed = time.monotonic() - t0
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    for n in (1, 2, 3, 4):
        assert f"phase {n}: " in done.stdout, out
    assert "FAIL" not in done.stdout, out
    report = json.loads((tmp_path / "report" / "lab-report.json").read_text())
    assert report["summary"]["passed"] is True
    # The estate: three accounts on NTLM, then the legacy device alone, then none.
    assert [s["ntlm_flows"] for s in report["summary"]["estate"]] == [3, 1, 1, 0]
    assert (tmp_path / "report" / "lab-report.html").read_text().count("phase 3") >= 2
    assert report["summary"]["checks"] >= 30 and report["summary"]["checks_failed"] == 0
    # The lab's passwords (passwords.env, 0600) are in no recorded command or output.
    assert (tmp_path / "passwords.env").stat().st_mode & 0o077 == 0
    text = (tmp_path / "report" / "lab-report.json").read_text()
    html = (tmp_path / "report" / "lab-report.html").read_text()
    for line in (tmp_path / "passwords.env").read_text().splitlines():
        secret = line.split("=", 1)[1]
        assert secret not in text and secret not in html, line.split("=", 1)[0]
    # Nothing left running, nothing left in the kernel.
    assert _ours(tmp_path) == []
    servers = tmp_path / "servers.json"  # written once a server started
    assert not servers.exists() or json.loads(servers.read_text()) == {}
    # `report` rebuilds the same verdict from the directory alone.
    (tmp_path / "report" / "lab-report.json").unlink()
    again = _lab("report", "--dir", str(tmp_path))
    assert again.returncode == 0 and "PASS" in again.stdout, again.stdout + again.stderr
    assert json.loads((tmp_path / "report" / "lab-report.json").read_text())["summary"][
        "estate"] == report["summary"]["estate"]
    print(f"lab run took {elapsed:.1f} s")


def test_up_is_isolated_then_down_removes_it(tmp_path: Path) -> None:
    done = _lab("up", "--dir", str(tmp_path))
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        names = _ours(tmp_path)
        assert len(names) == 9, names
        assert netns.isolation_problems(netns.tag_for(tmp_path)) == []
        ip = require_program("ip")
        branch = netns.ns_name(netns.tag_for(tmp_path), "branch")
        # The branch client reaches the app server's gateway, and not the KDC.
        probe = ("import socket,sys\ns=socket.socket();s.settimeout(3)\n"
                 "try:\n s.connect((sys.argv[1],int(sys.argv[2])));print('open')\n"
                 "except OSError as e:\n print('refused', e.errno)\n")
        app = subprocess.run([ip, "netns", "exec", branch, sys.executable, "-c", probe,
                              netns.BY_ROLE["app"].edge or "", "443"],
                             capture_output=True, text=True, timeout=20, check=False)
        assert app.stdout.strip() == "open", app.stdout + app.stderr
        kdc = subprocess.run([ip, "netns", "exec", branch, sys.executable, "-c", probe,
                              netns.address("kdc"), "88"],
                             capture_output=True, text=True, timeout=20, check=False)
        assert kdc.stdout.strip() == "refused 101", kdc.stdout  # ENETUNREACH
        outside = subprocess.run([ip, "netns", "exec", branch, sys.executable, "-c", probe,
                                  "192.0.2.1", "443"],
                                 capture_output=True, text=True, timeout=20, check=False)
        assert outside.stdout.strip() == "refused 101", outside.stdout
        # `report` of a lab that only went up: no phase ran, so it does not pass.
        rep = _lab("report", "--dir", str(tmp_path))
        assert rep.returncode == 1 and "FAIL" in rep.stdout, rep.stdout + rep.stderr
    finally:
        down = _lab("down", "--dir", str(tmp_path))
    assert down.returncode == 0, down.stdout + down.stderr
    assert "removed 9 namespaces" in down.stdout
    assert _ours(tmp_path) == []
    assert not any((netns.ETC_NETNS / n).exists() for n in names)


def test_a_step_that_misbehaves_fails_the_run_naming_it(tmp_path: Path) -> None:
    """The branch client's exception is kept into the enforced policy: its NTLM then works
    in phase 3, which the phase's checks observe (200 where 401 was expected)."""
    done = _lab("run", "--dir", str(tmp_path), "--fault", "keep-branch-exception")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "phase 1: ok" in done.stdout and "phase 2: ok" in done.stdout, done.stdout
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("phase 3:"))
    assert "FAILED" in line and "branch client carol tries NTLM" in line, line
    assert "FAILED: phase 3 (enforce" in done.stdout, done.stdout
    report = json.loads((tmp_path / "report" / "lab-report.json").read_text())
    assert report["summary"]["failed_steps"] == [
        "phase 3: enforce: NTLM refused except the legacy device's exception"]
    assert _ours(tmp_path) == []


def test_down_after_a_killed_run_removes_everything(tmp_path: Path) -> None:
    proc = subprocess.Popen([*KF, "lab", "run", "--dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("phase 1:") or not line:
                break
        servers = json.loads((tmp_path / "servers.json").read_text())
        assert servers, "no server was running when the run was killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _ours(tmp_path), "the killed run left no namespaces to clean (killed too late?)"
    down = _lab("down", "--dir", str(tmp_path))
    assert down.returncode == 0, down.stdout + down.stderr
    assert _ours(tmp_path) == []
    for name, info in servers.items():
        assert not _running(int(info["pid"])), f"{name} still runs"


def _running(pid: int) -> bool:
    """Whether `pid` still runs: a zombie (dead, not yet reaped by init, to which a killed
    parent's children pass) does not."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_removes_the_lab(tmp_path: Path, signum: int) -> None:
    """Ctrl-C (SIGINT) or SIGTERM during the run: it unwinds through its clean-up."""
    proc = subprocess.Popen([*KF, "lab", "run", "--dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()
        assert first.startswith("set-up:"), first
        assert _ours(tmp_path), "no namespaces while the run is under way"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == (130 if signum == signal.SIGINT else 143), err
    assert "the lab was removed" in err, err
    assert _ours(tmp_path) == []
    servers = tmp_path / "servers.json"  # written once a server started
    assert not servers.exists() or json.loads(servers.read_text()) == {}
