"""Real bytes from a real peer: MIT krb5's kinit sends its AS-REQ to a UDP socket of ours,
we decode it, and answer with a KRB-ERROR of our encoding that kinit must understand."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kerbfirst.wire import constants as c
from kerbfirst.wire import krb5 as k

pytestmark = pytest.mark.peer

REALM = "TEST.REALM"


def _kinit() -> str:
    path = shutil.which("kinit")
    if path is None:
        pytest.fail("MIT kinit not found: install it with `apt-get install krb5-user`")
    return path


def _start_kinit(tmp_path: Path, port: int, extra_libdefaults: str = "") -> subprocess.Popen[bytes]:
    conf = tmp_path / "krb5.conf"
    conf.write_text(
        "[libdefaults]\n"
        f"  default_realm = {REALM}\n"
        "  dns_lookup_kdc = false\n  dns_lookup_realm = false\n  rdns = false\n"
        f"{extra_libdefaults}"
        f"[realms]\n  {REALM} = {{\n    kdc = 127.0.0.1:{port}\n  }}\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "KRB5_CONFIG": str(conf),
        "KRB5CCNAME": f"FILE:{tmp_path / 'ccache'}",
        "KRB5_TRACE": str(tmp_path / "trace"),
    }
    return subprocess.Popen(
        [_kinit(), f"alice@{REALM}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _capture_as_req(
    tmp_path: Path, extra_libdefaults: str = ""
) -> tuple[bytes, socket.socket, tuple[str, int], subprocess.Popen[bytes]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    proc = _start_kinit(tmp_path, sock.getsockname()[1], extra_libdefaults)
    try:
        data, peer = sock.recvfrom(65535)
    except TimeoutError:
        proc.kill()
        proc.communicate(timeout=10)
        sock.close()
        pytest.fail("kinit sent no AS-REQ within 10 s")
    return data, sock, peer, proc


def test_decode_mit_as_req_and_answer_with_our_krb_error(tmp_path: Path) -> None:
    data, sock, peer, proc = _capture_as_req(tmp_path)
    try:
        msg = k.decode_kdc_message(data)
        assert isinstance(msg, k.KdcReq)
        assert msg.msg_type == c.KRB_AS_REQ and msg.pvno == 5
        body = msg.req_body
        assert body.cname == k.PrincipalName(c.NT_PRINCIPAL, ("alice",))
        assert body.realm == REALM
        assert body.sname == k.PrincipalName(c.NT_SRV_INST, ("krbtgt", REALM))
        assert 0 <= body.nonce <= 0xFFFFFFFF
        assert c.ETYPE_AES256_CTS_HMAC_SHA1_96 in body.etype
        assert body.till is not None and body.till > datetime(2000, 1, 1, tzinfo=UTC)
        # raw_req_body is exactly the req-body bytes inside the message as sent
        assert msg.raw_req_body is not None and msg.raw_req_body in data
        assert msg.raw_req_body == body.encode()  # MIT speaks DER: re-encoding is identical
        assert msg.encode() == data
        # MIT asks for renewable-ok (RFC 4120 bit 27 = 0x10) by default: the bit numbering
        # of constants.py matches the wire.
        assert body.kdc_options & c.KDC_OPT_RENEWABLE_OK
        # MIT's trace names the size of what it sent: we decoded the whole datagram.
        trace = (tmp_path / "trace").read_text(errors="replace")
        assert f"Sending request ({len(data)} bytes)" in trace

        reply = k.KrbError(
            error_code=c.KDC_ERR_C_PRINCIPAL_UNKNOWN,
            stime=datetime.now(UTC).replace(microsecond=0),
            susec=0,
            realm=REALM,
            sname=body.sname,
            cname=body.cname,
            crealm=REALM,
            e_text="kerbfirst wire test",
        ).encode()
        sock.sendto(reply, peer)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
        sock.close()
    assert proc.returncode != 0
    assert b"not found in Kerberos database" in err, err


def test_decode_mit_as_req_with_forwardable_and_renewable(tmp_path: Path) -> None:
    data, sock, _, proc = _capture_as_req(
        tmp_path, "  forwardable = true\n  proxiable = true\n  renew_lifetime = 7d\n"
    )
    proc.kill()
    proc.communicate(timeout=10)
    sock.close()
    req = k.KdcReq.decode(data)
    opts = req.req_body.kdc_options
    assert opts & c.KDC_OPT_FORWARDABLE
    assert opts & c.KDC_OPT_PROXIABLE
    assert opts & c.KDC_OPT_RENEWABLE
    assert req.req_body.rtime is not None
