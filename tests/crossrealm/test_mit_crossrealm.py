"""Cross-realm between the LocalKDC (LOCAL.TEST) and MIT krb5kdc (MIT.TEST), with MIT's
own kinit, kvno and klist in both directions, and the refusals (wrong inter-realm key,
untrusted realm, transited realm not permitted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossrealm.conftest import (
    ALICE_PW,
    EVIL,
    LOCAL,
    LOCAL_SERVICE,
    MIT,
    MIT_SERVICE,
    Realms,
)
from peerlib import peer_env, require_program, run_peer

pytestmark = pytest.mark.peer


def _local_events(realms: Realms) -> list[dict[str, object]]:
    return realms.local.audit_events()


def _kinit_alice(realms: Realms, tmp_path: Path, conf: Path) -> dict[str, str]:
    env = peer_env(conf, tmp_path / "cc")
    got = run_peer(["kinit", f"alice@{LOCAL}"], env=env, input=ALICE_PW + "\n")
    assert got.returncode == 0, got.stderr
    return env


def test_local_user_reaches_mit_service_named_with_its_realm(
    realms: Realms, tmp_path: Path
) -> None:
    """(a) MIT kvno asks our KDC for krbtgt/MIT.TEST@LOCAL.TEST, then MIT's KDC accepts
    it and issues the service ticket: the shared key works from us to MIT."""
    env = _kinit_alice(realms, tmp_path, realms.krb5_conf("a.conf", LOCAL))
    got = run_peer(["kvno", f"{MIT_SERVICE}@{MIT}"], env=env)
    assert got.returncode == 0, got.stderr
    assert f"{MIT_SERVICE}@{MIT}: kvno = 1" in got.stdout
    got = run_peer(["klist", "-f"], env=env)
    assert f"krbtgt/{MIT}@{LOCAL}" in got.stdout, got.stdout
    assert f"{MIT_SERVICE}@{MIT}" in got.stdout, got.stdout


def test_local_user_follows_our_referral_to_mit(realms: Realms, tmp_path: Path) -> None:
    """(a, RFC 6806) The client knows no realm for svc.mit.test: it asks our KDC for
    host/svc.mit.test with canonicalize; our [domain_realm] maps .mit.test to MIT.TEST and
    the answer is a referral TGT, which MIT kvno follows to MIT's KDC."""
    env = _kinit_alice(realms, tmp_path, realms.krb5_conf("ref.conf", LOCAL))
    got = run_peer(["kvno", "-S", "host", "svc.mit.test"], env=env)
    assert got.returncode == 0, got.stderr
    assert f"{MIT_SERVICE}@: kvno = 1" in got.stdout, got.stdout  # MIT names it so
    got = run_peer(["klist"], env=env)
    assert f"Ticket server: {MIT_SERVICE}@{MIT}" in got.stdout, got.stdout
    referrals = [
        e for e in _local_events(realms)
        if str(e.get("reason", "")).startswith(f"referral: ticket for krbtgt/{MIT}@{LOCAL}")
    ]
    assert referrals, "our KDC did not answer with a referral"


def test_mit_user_reaches_our_service(realms: Realms, tmp_path: Path) -> None:
    """(b) user@MIT.TEST's KDC issues krbtgt/LOCAL.TEST@MIT.TEST; our KDC accepts it and
    issues the service ticket, which decrypts with the service's key (kvno -k)."""
    keytab = tmp_path / "local.keytab"  # exported while serving, as an administrator would
    realms.local.kf("keytab", "export", LOCAL_SERVICE, "--out", str(keytab))
    conf = realms.krb5_conf("b.conf", MIT)
    env = peer_env(conf, Path(realms.mit.ccache))
    got = run_peer(["kvno", "-k", str(keytab), f"{LOCAL_SERVICE}@{LOCAL}"], env=env)
    assert got.returncode == 0, got.stderr
    assert "keytab entry valid" in got.stdout, got.stdout
    got = run_peer(["klist", "-f"], env=env)
    assert f"krbtgt/{LOCAL}@{MIT}" in got.stdout, got.stdout
    line = next(
        ln for ln in got.stdout.splitlines() if ln.rstrip().endswith(f"{LOCAL_SERVICE}@{LOCAL}")
    )
    flags = got.stdout.splitlines()[got.stdout.splitlines().index(line) + 1]
    assert "T" in flags.split("Flags:")[1], flags  # TRANSITED-POLICY-CHECKED, as MIT sets
    issued = [
        e for e in _local_events(realms)
        if e.get("client") == f"user@{MIT}" and e.get("outcome") == "granted"
    ]
    assert issued, "no audit record of the ticket issued to user@MIT.TEST"


def test_wrong_inter_realm_key_then_untrusted_realm(realms: Realms, tmp_path: Path) -> None:
    """EVIL.TEST's krbtgt/LOCAL.TEST@EVIL.TEST was made with another password than ours:
    the ticket does not decrypt. Without the principal at all, the realm is untrusted."""
    evil = realms.evil
    env = peer_env(realms.krb5_conf("evil.conf", EVIL), Path(evil.ccache))
    got = run_peer(["kvno", f"{LOCAL_SERVICE}@{LOCAL}"], env=env)
    assert got.returncode != 0
    last = _local_events(realms)[-1]
    assert last["outcome"] == "bad-integrity", last
    assert f"does not decrypt with the key of krbtgt/{LOCAL}@{EVIL}" in str(last["reason"])

    realms.local.kf("principal", "delete", f"krbtgt/{LOCAL}@{EVIL}", "--force")
    got = run_peer(["kvno", f"{LOCAL_SERVICE}@{LOCAL}"], env=env)
    assert got.returncode != 0
    last = _local_events(realms)[-1]
    assert last["outcome"] == "wrong-realm", last
    assert f"realm {EVIL} is not trusted" in str(last["reason"]), last


def test_transited_realm_not_permitted(realms: Realms, tmp_path: Path) -> None:
    """user@EVIL.TEST reaches us through MIT.TEST (EVIL -> MIT -> LOCAL, MIT's KDC issues
    krbtgt/LOCAL.TEST@MIT.TEST to EVIL's user). Our [capaths] permits EVIL's users only
    via ELSEWHERE.TEST, so the path through MIT.TEST is refused (KDC_ERR_PATH_NOT_ACCEPTED)."""
    # EVIL's direct key to us (the previous test's) goes: EVIL's users must come via MIT.
    kadmin = [require_program("kadmin.local"), "-q", f"delprinc -force krbtgt/{LOCAL}@{EVIL}"]
    run_peer(kadmin, env=realms.evil.env)
    capaths = f"[capaths]\n    {EVIL} = {{\n        {LOCAL} = {MIT}\n    }}\n"
    env = peer_env(realms.krb5_conf("transit.conf", EVIL, capaths), tmp_path / "cc")
    got = run_peer(["kinit", f"user@{EVIL}"], env=env, input=realms.evil.password("user") + "\n")
    assert got.returncode == 0, got.stderr
    got = run_peer(["kvno", f"{LOCAL_SERVICE}@{LOCAL}"], env=env)
    assert got.returncode != 0
    got_klist = run_peer(["klist"], env=env)
    assert f"krbtgt/{LOCAL}@{MIT}" in got_klist.stdout, got_klist.stdout  # MIT did issue it
    last = _local_events(realms)[-1]
    assert last["outcome"] == "policy" and last["result_code"] == 28, last
    assert f"transited realm {MIT}" in str(last["reason"]), json.dumps(last)


def _our_kinit(realms: Realms, conf: Path, ccache: Path, user: str, password: str,
               *services: str) -> str:
    import subprocess

    from localkdc.conftest import KF

    args = [*KF, "kinit", user, "--password-stdin", "--ccache", str(ccache)]
    for s in services:
        args += ["--service", s]
    got = subprocess.run(args, input=password + "\n", capture_output=True, text=True,
                         timeout=60, check=False, env=peer_env(conf))
    assert got.returncode == 0, got.stdout + got.stderr
    return got.stdout


@pytest.mark.parametrize("service", [f"{MIT_SERVICE}@{MIT}", MIT_SERVICE])
def test_our_client_reaches_mit_service(realms: Realms, tmp_path: Path, service: str) -> None:
    """(c) kerbfirst kinit follows the trust: with the realm named it asks our KDC for
    krbtgt/MIT.TEST, without it our KDC's referral; MIT's KDC issues the ticket and MIT's
    klist reads it; MIT's kvno -k checks it decrypts with the service's own key."""
    conf = realms.krb5_conf("c.conf", LOCAL)
    cc = tmp_path / "cc"
    out = _our_kinit(realms, conf, cc, f"alice@{LOCAL}", ALICE_PW, service)
    assert f"{MIT_SERVICE}@{MIT}" in out, out
    env = peer_env(conf, cc)
    got = run_peer(["klist"], env=env)
    assert f"krbtgt/{MIT}@{LOCAL}" in got.stdout and f"{MIT_SERVICE}@{MIT}" in got.stdout, (
        got.stdout
    )
    keytab = tmp_path / "mit.keytab"
    realms.mit.extract_keytab(f"{MIT_SERVICE}@{MIT}", str(keytab))
    got = run_peer(["kvno", "--cached-only", "-k", str(keytab), f"{MIT_SERVICE}@{MIT}"], env=env)
    assert "keytab entry valid" in got.stdout, got.stdout + got.stderr


def test_our_client_from_mit_reaches_our_service(realms: Realms, tmp_path: Path) -> None:
    """(c) user@MIT.TEST with kerbfirst kinit against MIT's KDC, then our service through
    krbtgt/LOCAL.TEST@MIT.TEST; the ticket decrypts with the service's key (MIT kvno -k)."""
    conf = realms.krb5_conf("c2.conf", MIT)
    cc = tmp_path / "cc"
    _our_kinit(realms, conf, cc, f"user@{MIT}", realms.mit.password("user"),
               f"{LOCAL_SERVICE}@{LOCAL}")
    env = peer_env(conf, cc)
    got = run_peer(["kvno", "--cached-only", "-k", str(realms.local_keytab),
                    f"{LOCAL_SERVICE}@{LOCAL}"], env=env)
    assert "keytab entry valid" in got.stdout, got.stdout + got.stderr


def test_transited_realm_permitted_by_capaths(realms: Realms, tmp_path: Path) -> None:
    """The same path EVIL -> MIT -> LOCAL, to a LocalKDC of LOCAL.TEST whose [capaths]
    permits MIT.TEST for EVIL.TEST's users: the ticket is issued, with MIT.TEST in its
    transited field and TRANSITED-POLICY-CHECKED set; it decrypts with the service key."""
    import signal
    import subprocess

    from crossrealm.conftest import TRUST_PW
    from localkdc.conftest import KF, CliRealm, _wait_tcp
    from peerlib import free_port

    kadmin = [require_program("kadmin.local"), "-q", f"delprinc -force krbtgt/{LOCAL}@{EVIL}"]
    run_peer(kadmin, env=realms.evil.env)  # EVIL's users must come via MIT
    port = free_port()
    other = CliRealm(tmp_path / "local2", port)
    other.kf("realm", "init", "--realm", LOCAL, "--listen", f"127.0.0.1:{port}")
    other.kf("principal", "add", LOCAL_SERVICE, "--random")
    other.kf("principal", "add", f"krbtgt/{LOCAL}@{MIT}", "--password-stdin",
             stdin=TRUST_PW + "\n")
    keytab = tmp_path / "svc.keytab"
    other.kf("keytab", "export", LOCAL_SERVICE, "--out", str(keytab))
    toml = other.directory / "kerbfirst.toml"
    toml.write_text(toml.read_text() + f'\n[capaths."{EVIL}"]\n"{LOCAL}" = ["{MIT}"]\n')
    kdc = subprocess.Popen([*KF, "kdc", "serve", "--dir", str(other.directory)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_tcp(port, kdc)
        capaths = f"[capaths]\n    {EVIL} = {{\n        {LOCAL} = {MIT}\n    }}\n"
        conf = realms.krb5_conf("permit.conf", EVIL, capaths)
        conf.write_text(conf.read_text().replace(
            f"kdc = 127.0.0.1:{realms.local.port}", f"kdc = 127.0.0.1:{port}"))
        env = peer_env(conf, tmp_path / "cc")
        got = run_peer(["kinit", f"user@{EVIL}"], env=env,
                       input=realms.evil.password("user") + "\n")
        assert got.returncode == 0, got.stderr
        got = run_peer(["kvno", "-k", str(keytab), f"{LOCAL_SERVICE}@{LOCAL}"], env=env)
        assert "keytab entry valid" in got.stdout, got.stdout + got.stderr
        got = run_peer(["klist", "-f"], env=env)
        lines = got.stdout.splitlines()
        at = next(i for i, ln in enumerate(lines) if ln.endswith(f"{LOCAL_SERVICE}@{LOCAL}"))
        assert "T" in lines[at + 1].split("Flags:")[1], got.stdout
        # The ticket as MIT's kvno stored it, opened with the service key: MIT.TEST (the
        # realm that issued the TGT, not the client's) is in the transited field.
        from kerbfirst.crypto import Key, decrypt
        from kerbfirst.store.ccache import read_ccache
        from kerbfirst.store.keytab import read_keytab
        from kerbfirst.wire.constants import KU_KDC_REP_TICKET
        from kerbfirst.wire.krb5 import EncTicketPart, Ticket

        cred = next(c for c in read_ccache(tmp_path / "cc").credentials
                    if c.server.components == tuple(LOCAL_SERVICE.split("/")))
        ticket = Ticket.decode(cred.ticket)
        entry = next(e for e in read_keytab(keytab) if e.etype == ticket.enc_part.etype)
        part = EncTicketPart.decode(
            decrypt(Key(entry.etype, entry.key), KU_KDC_REP_TICKET, ticket.enc_part.cipher))
        assert part.transited.contents == MIT.encode() and part.crealm == EVIL
        granted = [e for e in other.audit_events() if e["client"] == f"user@{EVIL}"]
        assert granted and granted[-1]["outcome"] == "granted", granted
    finally:
        kdc.send_signal(signal.SIGTERM)
        try:
            kdc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kdc.kill()
            kdc.wait()


def test_mit_gss_client_to_our_service_through_mit_referral(
    realms: Realms, tmp_path: Path
) -> None:
    """(b) MIT gss-client as user@MIT.TEST to MIT gss-server holding our service's keys,
    the name host@svc.local.test only: MIT's KDC refers to LOCAL.TEST ([domain_realm]),
    our KDC accepts krbtgt/LOCAL.TEST@MIT.TEST and issues the ticket; mutual auth."""
    import subprocess

    from peerlib import free_port, wait_listening

    conf = realms.krb5_conf("gss.conf", MIT)
    env = peer_env(conf, tmp_path / "cc")
    got = run_peer(["kinit", f"user@{MIT}"], env=env, input=realms.mit.password("user") + "\n")
    assert got.returncode == 0, got.stderr
    port = free_port()
    server = subprocess.Popen(
        [require_program("gss-server"), "-port", str(port), "-once", "-keytab",
         str(realms.local_keytab), "host@svc.local.test"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_listening(port, server)
        got = run_peer(["gss-client", "-port", str(port), "127.0.0.1", "host@svc.local.test",
                        "across the trust"], env=env)
        assert got.returncode == 0, got.stdout + got.stderr
        assert "Signature verified" in got.stdout, got.stdout
        out, _ = server.communicate(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert f'Accepted connection: "user@{MIT}"' in out, out
    last = _local_events(realms)[-1]
    assert (last["outcome"], last["client"], last["service"]) == (
        "granted", f"user@{MIT}", f"{LOCAL_SERVICE}@{LOCAL}"), last
