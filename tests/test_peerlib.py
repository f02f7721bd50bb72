"""The test harness's MIT realm (peerlib.k5_realm) on any machine, and when it breaks.

k5_realm must not depend on the machine's host name resolving (k5test would name the KDC
after socket.getfqdn()), and a failed set-up must stop the krb5kdc it started and show the
failing program's own output instead of k5test's bare "Unexpected return code".
"""

from __future__ import annotations

from pathlib import Path

import pytest

import peerlib
from peerlib import k5_realm, tcp_listening


def test_k5_realm_names_the_kdc_by_loopback_address(tmp_path: Path) -> None:
    with k5_realm("PEERLIB.TEST", "host/h.peerlib.test", tmp_path) as realm:
        conf = Path(realm.env["KRB5_CONFIG"]).read_text()
        assert f"kdc = 127.0.0.1:{realm.portbase}" in conf, conf
        assert realm.hostname == "127.0.0.1"


def test_failed_k5_realm_set_up_stops_its_kdc_and_shows_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bases: list[int] = []
    original = peerlib._free_port_base

    def recording() -> int:
        bases.append(original())
        return bases[-1]

    monkeypatch.setattr(peerlib, "_free_port_base", recording)
    # The client's krb5.conf points at port 9, so k5test's kinit fails after the KDC started.
    broken = {"realms": {"$realm": {"kdc": "127.0.0.1:9"}}}
    with (pytest.raises(pytest.fail.Exception) as failed,
          k5_realm("BROKEN.TEST", "host/h.broken.test", tmp_path, krb5_conf=broken)):
        pass
    message = str(failed.value)
    assert "could not be set up" in message
    assert "Cannot contact any KDC" in message, message  # kinit's own words
    assert bases and not tcp_listening(bases[0]), "krb5kdc left running after a failed set-up"
