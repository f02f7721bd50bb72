"""Real NTLM clients against the governed acceptor over HTTP (a small ASGI app under
uvicorn, tests/ntlm/http_app.py): curl --ntlm, pyspnego's NTLM and Negotiate (SPNEGO
carrying NTLMSSP, mechListMIC checked by our NTLM session security) over httpx.
Default policy refuses (401 + event), an exception for the user and client allows, the
same exchange after the exception's expiry (injected clock) is refused again."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import spnego
from kerbfirst.audit.ingest import IngestStats, iter_events
from kerbfirst.gss.ntlm import NtHashVerifier, NtlmAcceptorConfig
from kerbfirst.gss.ntlm_governed import NtlmGovernor
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.store.ntlm_policy_file import PolicyFile
from kerbfirst.store.windows_event_log import WindowsEventLog
from kerbfirst.wire.gss_framing import OID_NTLMSSP
from ntlm.http_app import NtlmApp, Served
from ntlm.peer import NOW, PASSWORD, WEB, lookup

# curl's NTLM sends neither a MIC nor MsvAvTargetName (lib/vauth/ntlm.c builds the NTLMv2
# blob from the server's target info alone): a service that must serve it says so.
CURL_CONFIG = NtlmAcceptorConfig(service_names=("HTTP/127.0.0.1",), nb_computer="WEB",
                                 nb_domain="CORP", require_mic=False,
                                 require_target_name=False)


def _write_policy(path: Path, *, exception: bool, target: str, expires: date) -> None:
    text = 'mode = "enforce"\n[scope]\nestate = true\n'
    if exception:
        text += (f'[[exception]]\nid = "EX-HTTP"\ntarget = "{target}"\nclient = "127.0.0.1"\n'
                 f'user = "CORP\\\\alice"\nowner = "web-team"\nexpires = {expires.isoformat()}\n'
                 'reason = "legacy client"\ncompensating_control = "loopback only"\n')
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class Service:
    def __init__(self, tmp: Path, config: NtlmAcceptorConfig, mech_oid: str = "(NULL)"):
        self.policy_path = tmp / "ntlm-policy.toml"
        self.log_path = tmp / "ntlm-events.jsonl"
        self.now = NOW
        self.policy = PolicyFile(self.policy_path, check_interval=0)
        self.log = WindowsEventLog(self.log_path)
        gov = NtlmGovernor(config, NtHashVerifier(lookup), policy=self.policy.current,
                           replay=ReplayCache(), sink=self.log.write, host="web.corp.example",
                           mechanism_oid=mech_oid)
        self.app = NtlmApp(gov, lambda: self.now)
        self.served = Served(self.app)

    def event_ids(self) -> list[int]:
        return [e.event_id for e in iter_events([self.log_path], stats=IngestStats(),
                                                warn=print)]

    def close(self) -> None:
        self.served.close()
        self.log.close()


@pytest.fixture
def curl_service(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = Service(tmp_path, CURL_CONFIG)
    yield s
    s.close()


def _curl(url: str, user: str = "CORP\\alice", password: str = PASSWORD) -> tuple[int, str]:
    if shutil.which("curl") is None:
        pytest.fail("curl is missing: apt-get install curl")
    out = subprocess.run(["curl", "-sS", "--max-time", "20", "--ntlm", "-u",
                          f"{user}:{password}", "-w", "\n%{http_code}", url],
                         capture_output=True, text=True, timeout=30, check=False)
    body, _, code = out.stdout.rpartition("\n")
    return int(code or 0), body


def test_curl_ntlm_refused_by_default_allowed_by_exception_refused_after_expiry(
        curl_service: Service) -> None:
    s = curl_service
    # curl stamps its NTLMv2 blob with its own clock, so the service runs on real time here
    # and the expiry is moved past by advancing the service's clock.
    s.now = datetime.now(UTC)
    today = s.now.date()
    _write_policy(s.policy_path, exception=False, target="127.0.0.1", expires=today)
    code, body = _curl(s.served.url)
    assert code == 401 and "none names server 127.0.0.1" in body
    assert 4003 in s.event_ids() and 4625 in s.event_ids()
    _write_policy(s.policy_path, exception=True, target="127.0.0.1", expires=today)
    code, body = _curl(s.served.url)
    assert (code, body) == (200, "hello CORP\\alice")
    assert s.event_ids().count(4624) == 1
    s.now += timedelta(days=1)  # the exception held through today
    code, body = _curl(s.served.url)
    assert code == 401 and "EX-HTTP would have allowed it but expired" in body
    code, body = _curl(s.served.url, password="wrong")  # and the password alone never helps
    assert code == 401


def test_curl_wrong_password_with_exception(curl_service: Service) -> None:
    curl_service.now = datetime.now(UTC)
    _write_policy(curl_service.policy_path, exception=True, target="127.0.0.1",
                  expires=curl_service.now.date())
    code, body = _curl(curl_service.served.url, password="wrong")
    assert code == 401 and "wrong password" in body


def _httpx_ntlm(url: str, scheme: str) -> httpx.Response:
    protocol = "ntlm" if scheme == "NTLM" else "negotiate"
    ctx = spnego.client("CORP\\alice", PASSWORD, hostname="web.corp.example", service="HTTP",
                        protocol=protocol)
    with httpx.Client(timeout=10) as http:
        token = ctx.step()
        while True:
            r = http.get(url, headers={"Authorization":
                                       f"{scheme} {base64.b64encode(token).decode()}"})
            challenge = r.headers.get("www-authenticate", "")
            if r.status_code != 401 or not challenge.startswith(f"{scheme} "):
                if challenge.startswith(f"{scheme} ") and r.status_code == 200:
                    ctx.step(base64.b64decode(challenge.split(" ", 1)[1]))  # mutual MIC
                return r
            token = ctx.step(base64.b64decode(challenge.split(" ", 1)[1]))


@pytest.mark.parametrize("scheme", ["NTLM", "Negotiate"])
def test_pyspnego_over_httpx(tmp_path: Path, scheme: str) -> None:
    s = Service(tmp_path, WEB, OID_NTLMSSP if scheme == "Negotiate" else "(NULL)")
    try:
        _write_policy(s.policy_path, exception=False, target="web.corp.example",
                      expires=NOW.date())
        r = _httpx_ntlm(s.served.url, scheme)
        assert r.status_code == 401 and "none names server web.corp.example" in r.text
        _write_policy(s.policy_path, exception=True, target="web.corp.example",
                      expires=NOW.date())
        r = _httpx_ntlm(s.served.url, scheme)
        assert (r.status_code, r.text) == (200, "hello CORP\\alice")
        ids = s.event_ids()
        assert ids.count(4624) == 1 and ids.count(4625) == 1
    finally:
        s.close()
