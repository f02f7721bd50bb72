"""A real `kerbfirst kdc serve` under unauthenticated floods and reflection probes (1 and 2
workers): memory stays bounded, noise gets no answer, errors stay small. MIT krb5kdc is
the anchor for the reflection behaviour (it answers nothing it cannot decode)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flood_requests import as_req, big_as_req, long_name_as_req
from kdc_process import REALM, served_realm, tcp_ask, udp_ask, udp_replies

from kerbfirst.wire.krb5 import KrbError, decode_kdc_message
from peerlib import k5_realm

NOISE = [
    b"\x6a\x00", b"\x6c\x00", b"\x6a\x81", b"\x30\x00", b"\x00" * 64, b"GET / HTTP/1.0\r\n\r\n"
]
# Bounded RSS growth of the whole server (all workers) under the flood below. Before
# digests and byte bounds, each 1 MiB request stayed in the reply cache: +100 MiB.
RSS_BOUND_MIB = 40


@pytest.mark.parametrize("workers", [1, 2])
def test_flood_of_large_unique_requests_does_not_grow_memory(
    tmp_path: Path, workers: int
) -> None:
    with served_realm(tmp_path, workers=workers, max_message_size="1M") as kdc:
        now = datetime.now(UTC)
        for i in range(30):  # warm up: every code path the flood takes, in every worker
            tcp_ask(kdc.port, long_name_as_req(1000, 4, 10_000_000 + i, REALM, now))
            tcp_ask(kdc.port, big_as_req(4000, 20_000_000 + i, REALM, now))
        before = kdc.rss_mib()
        for i in range(100):  # 100 unique 1 MiB AS-REQs, each answered
            reply = tcp_ask(kdc.port, big_as_req(1_000_000, i, REALM, now))
            assert reply is not None and reply[0] == 0x7E  # a KRB-ERROR (client unknown)
        for i in range(300):  # unknown clients with 16 KiB names
            reply = tcp_ask(kdc.port, long_name_as_req(1000, 16, 1000 + i, REALM, now))
            assert reply is not None and len(reply) < 20_000
        after = kdc.rss_mib()
        assert after - before <= RSS_BOUND_MIB, (before, after)
    events = (kdc.directory / "kdc-audit.jsonl").read_text().splitlines()
    assert sum(1 for e in events if json.loads(e)["outcome"] == "client-unknown") >= 400


def test_requests_above_the_cap_are_refused_and_recorded(tmp_path: Path) -> None:
    with served_realm(tmp_path, workers=1) as kdc:  # default cap: 64 KiB
        now = datetime.now(UTC)
        assert tcp_ask(kdc.port, big_as_req(70_000, 1, REALM, now)) is None  # closed
        assert tcp_ask(kdc.port, big_as_req(60_000, 2, REALM, now)) is not None
    reasons = [json.loads(e)["reason"]
               for e in (kdc.directory / "kdc-audit.jsonl").read_text().splitlines()]
    assert any("exceeds the limit of 65536" in r for r in reasons), reasons


def _amplification_probes(now: datetime) -> list[bytes]:
    return [
        as_req(("x" * 1000, "y" * 1000), realm=REALM, now=now),  # unknown, long name
        as_req(("nobody",), realm=REALM, etypes=tuple(range(-30, 30)), now=now),
        as_req(("nobody",), realm="OTHER." + "R" * 600, now=now),
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_udp_noise_gets_no_reply_and_errors_stay_small(tmp_path: Path, workers: int) -> None:
    with served_realm(tmp_path, workers=workers) as kdc:
        assert udp_replies(kdc.port, NOISE) == []
        for probe in _amplification_probes(datetime.now(UTC)):
            reply = udp_ask(kdc.port, probe, wait=3.0)
            assert reply is not None
            assert isinstance(decode_kdc_message(reply), KrbError)
            assert len(reply) <= 1.5 * len(probe), (len(reply), len(probe))
    lines = (kdc.directory / "kdc-audit.jsonl").read_text().splitlines()
    records = [json.loads(e) for e in lines]
    dropped = [r for r in records if r["outcome"] == "bad-request"]
    assert len(dropped) == len(NOISE)  # each audited (well under the rate limit)


@pytest.mark.peer
def test_mit_krb5kdc_also_answers_no_noise(tmp_path: Path) -> None:
    """The anchor: MIT's KDC sends nothing for what it cannot decode, and its errors for
    the same probes are within 1.5x of the request, as ours are (test above)."""
    with k5_realm("KRBTEST.COM", "host/mit.test", tmp_path, get_creds=False) as mit:
        port = int(mit.kdc_address.rsplit(":", 1)[1])
        assert udp_replies(port, NOISE) == []
        now = datetime.now(UTC)
        probes = [as_req(("x" * 1000, "y" * 1000), realm="KRBTEST.COM", now=now)]
        for probe in probes:
            reply = udp_ask(port, probe, wait=3.0)
            assert reply is not None and len(reply) <= 1.5 * len(probe)
