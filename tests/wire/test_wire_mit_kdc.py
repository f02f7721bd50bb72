"""Real bytes both ways: MIT's kinit and kvno talk to MIT's krb5kdc (a throwaway k5test
realm) through a UDP relay of ours that records every datagram. Everything MIT sends in
an AS and a TGS exchange with pre-authentication must decode, re-encode byte for byte
(MIT speaks DER), and carry what the protocol says it carries."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kerbfirst.wire import constants as c
from kerbfirst.wire import krb5 as k

pytestmark = pytest.mark.peer


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Relay:
    """Forwards each client datagram to the KDC and records (request, reply) pairs."""

    def __init__(self, kdc_port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.kdc = ("127.0.0.1", kdc_port)
        self.exchanges: list[tuple[bytes, bytes]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                request, client = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                    up.settimeout(5)
                    up.connect(self.kdc)
                    up.send(request)
                    reply = up.recv(65535)
            except OSError:  # KDC not up yet or silent: the client retries on its own
                continue
            self.exchanges.append((request, reply))
            self.sock.sendto(reply, client)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


REALM = "KRBTEST.COM"
PASSWORD = "user-password-1"


def _tool(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}"):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(f"MIT {name} not found: apt-get install krb5-kdc krb5-admin-server krb5-user")


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    done = subprocess.run(args, env=env, input=stdin, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.fail(f"{args[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")


@pytest.fixture(scope="module")
def mit_exchanges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[tuple[bytes, bytes]]]:
    """A throwaway MIT realm (kdb5_util, kadmin.local, krb5kdc) on a free loopback port."""
    tmp = tmp_path_factory.mktemp("mitrealm")
    kdc_port = _free_port()
    (tmp / "kdc.conf").write_text(
        f"[realms]\n  {REALM} = {{\n    database_name = {tmp}/db\n"
        f"    key_stash_file = {tmp}/stash\n    kdc_ports = {kdc_port}\n"
        f"    kdc_tcp_ports = {kdc_port}\n    acl_file = {tmp}/acl\n  }}\n"
        f"[logging]\n  kdc = FILE:{tmp}/kdc.log\n"
    )
    (tmp / "krb5.conf").write_text(
        f"[libdefaults]\n  default_realm = {REALM}\n  dns_lookup_kdc = false\n"
        f"[realms]\n  {REALM} = {{\n    kdc = 127.0.0.1:{kdc_port}\n  }}\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin",
        "KRB5_CONFIG": str(tmp / "krb5.conf"),
        "KRB5_KDC_PROFILE": str(tmp / "kdc.conf"),
        "KRB5CCNAME": f"FILE:{tmp}/ccache",
    }
    _run([_tool("kdb5_util"), "create", "-s", "-W", "-P", "master-pw"], env)
    kadmin = _tool("kadmin.local")
    _run([kadmin, "-q", f"addprinc -pw {PASSWORD} +requires_preauth user"], env)
    _run([kadmin, "-q", "addprinc -randkey host/server.test"], env)
    kdc = subprocess.Popen([_tool("krb5kdc"), "-n"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)  # fmt: skip
    relay = Relay(kdc_port)
    try:
        (tmp / "relay.conf").write_text(
            f"[libdefaults]\n  default_realm = {REALM}\n  dns_lookup_kdc = false\n"
            f"[realms]\n  {REALM} = {{\n    kdc = 127.0.0.1:{relay.port}\n  }}\n"
        )
        client_env = dict(env, KRB5_CONFIG=str(tmp / "relay.conf"))
        # krb5kdc -n needs a moment to bind; kinit retries UDP on its own (~1 s per try)
        _run([_tool("kinit"), f"user@{REALM}"], client_env, stdin=PASSWORD + "\n")
        _run([_tool("kvno"), f"host/server.test@{REALM}"], client_env)
        yield relay.exchanges
    finally:
        relay.close()
        kdc.terminate()
        kdc.communicate(timeout=10)


def _decoded(
    exchanges: list[tuple[bytes, bytes]],
) -> list[tuple[k.KdcReq | k.KdcRep | k.KrbError, k.KdcReq | k.KdcRep | k.KrbError]]:
    return [(k.decode_kdc_message(q), k.decode_kdc_message(r)) for q, r in exchanges]


def test_every_mit_message_decodes_and_reencodes_identically(
    mit_exchanges: list[tuple[bytes, bytes]],
) -> None:
    assert len(mit_exchanges) >= 3  # AS-REQ/KRB-ERROR, AS-REQ/AS-REP, TGS-REQ/TGS-REP
    for request, reply in mit_exchanges:
        for data in (request, reply):
            assert k.decode_kdc_message(data).encode() == data


def test_preauth_required_error_carries_etype_info2(
    mit_exchanges: list[tuple[bytes, bytes]],
) -> None:
    (first_req, first_rep), *_ = _decoded(mit_exchanges)
    assert isinstance(first_req, k.KdcReq) and first_req.msg_type == c.KRB_AS_REQ
    assert isinstance(first_rep, k.KrbError)
    assert first_rep.error_code == c.KDC_ERR_PREAUTH_REQUIRED
    assert first_rep.realm == "KRBTEST.COM"
    assert first_rep.e_data is not None
    methods = {p.padata_type: p.padata_value for p in k.decode_method_data(first_rep.e_data)}
    assert c.PA_ENC_TIMESTAMP in methods
    info = k.decode_etype_info2(methods[c.PA_ETYPE_INFO2])
    assert info[0].etype in first_req.req_body.etype
    assert info[0].salt == f"{REALM}user"  # MIT's default salt: realm + name components


def test_as_exchange_with_encrypted_timestamp(mit_exchanges: list[tuple[bytes, bytes]]) -> None:
    decoded = _decoded(mit_exchanges)
    as_req, as_rep = next(
        (q, r) for q, r in decoded if isinstance(r, k.KdcRep) and r.msg_type == c.KRB_AS_REP
    )
    assert isinstance(as_req, k.KdcReq)
    padata = {p.padata_type: p.padata_value for p in as_req.padata or ()}
    enc_ts = k.EncryptedData.decode(padata[c.PA_ENC_TIMESTAMP])
    assert enc_ts.etype in as_req.req_body.etype and len(enc_ts.cipher) >= 28
    assert as_rep.cname == k.PrincipalName(c.NT_PRINCIPAL, ("user",))
    assert as_rep.ticket.sname.name_string == ("krbtgt", "KRBTEST.COM")
    assert as_rep.ticket.realm == "KRBTEST.COM"
    assert as_rep.ticket.enc_part.kvno is not None


def test_tgs_exchange_reembeds_the_tgt_and_keeps_req_body_as_sent(
    mit_exchanges: list[tuple[bytes, bytes]],
) -> None:
    decoded = _decoded(mit_exchanges)
    as_rep = next(r for _, r in decoded if isinstance(r, k.KdcRep) and r.msg_type == 11)
    (tgs_raw, _), (tgs_req, tgs_rep) = next(
        (raw, d) for raw, d in zip(mit_exchanges, decoded, strict=True)
        if isinstance(d[0], k.KdcReq) and d[0].msg_type == c.KRB_TGS_REQ
    )  # fmt: skip
    assert isinstance(tgs_req, k.KdcReq) and isinstance(tgs_rep, k.KdcRep)
    assert tgs_req.raw_req_body is not None and tgs_req.raw_req_body in tgs_raw
    ap_req_bytes = {p.padata_type: p.padata_value for p in tgs_req.padata or ()}[c.PA_TGS_REQ]
    ap_req = k.ApReq.decode(ap_req_bytes)
    assert ap_req.ticket.raw == as_rep.ticket.raw  # the TGT, byte for byte
    assert ap_req.ticket == as_rep.ticket
    assert ap_req.authenticator.etype in (17, 18, 19, 20)
    assert tgs_rep.msg_type == c.KRB_TGS_REP
    assert tgs_rep.ticket.sname.name_string[0] == "host"
    assert tgs_req.req_body.sname == tgs_rep.ticket.sname
