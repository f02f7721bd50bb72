"""The acceptor refuses bad AP-REQs with the RFC 4120 7.5.9 error codes, in a KRB-ERROR token
the initiator understands (RFC 4121 4.1), and never with an unexpected exception."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest

from kerbfirst.crypto import Key
from kerbfirst.gss.errors import (
    BadMechanism,
    CredentialsExpired,
    DefectiveCredential,
    DefectiveToken,
    DuplicateToken,
    GssError,
    KerberosErrorToken,
    NoCredential,
)
from kerbfirst.gss.krb5_acceptor import Krb5Acceptor
from kerbfirst.gss.krb5_initiator import Krb5Initiator
from kerbfirst.gss.krb5_tokens import KRB5_OID, unframe_krb5
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.wire.krb5 import KrbError

from .fixtures import (
    CLIENT,
    NOW,
    REALM,
    SERVICE_STR,
    counter_random,
    keys,
    lookup_for,
    make_ticket,
    pair,
)


def refused(acc: Krb5Acceptor, token: bytes, code: int, cls: type[GssError]) -> KrbError:
    with pytest.raises(cls) as info:
        acc.step(token, now=NOW)
    assert info.value.krb_error == code
    assert info.value.minor == -1765328384 + code
    out = info.value.output_token
    assert out is not None
    _, tok_id, body = unframe_krb5(out, frozenset({KRB5_OID}))
    assert tok_id == b"\x03\x00"
    err = KrbError.decode(body)
    assert err.error_code == code
    assert err.realm == REALM and err.sname.name_string == ("host", "server.gss.test")
    return err


def test_replayed_ap_req_is_error_34() -> None:
    cache = ReplayCache()
    ini, acc, _, _ = pair(cache=cache)
    tok = ini.initial_token()
    acc.step(tok, now=NOW)
    _, acc2, _, _ = pair(cache=cache)
    refused(acc2, tok, 34, DuplicateToken)
    # Once the skew window has passed the entry expires, and the skew check takes over.
    _, acc3, _, _ = pair(cache=cache)
    with pytest.raises(DefectiveCredential) as info:
        acc3.step(tok, now=NOW + timedelta(minutes=5, seconds=1))
    assert info.value.krb_error == 37
    assert len(cache) == 1
    cache.check_and_store(("x", NOW, 0, b""), now=NOW + timedelta(minutes=6),
                          lifetime=timedelta(minutes=5))
    assert len(cache) == 1  # the old entry was purged, the new one kept


def test_skew_is_error_37() -> None:
    ini, acc, _, _ = pair(now=NOW - timedelta(minutes=6))
    err = refused(acc, ini.initial_token(), 37, DefectiveCredential)
    assert err.ctime is not None  # the initiator can see what time it sent
    ini, acc, _, _ = pair(now=NOW - timedelta(minutes=4))
    acc.step(ini.initial_token(), now=NOW)
    assert acc.complete


def test_wrong_service_key_is_error_31() -> None:
    service_key, session_key = keys(18)
    ticket = make_ticket(Key(18, bytes(32)), session_key)
    ini = Krb5Initiator(ticket=ticket, session_key=session_key, client=CLIENT, client_realm=REALM,
                        now=NOW, random=counter_random())
    acc = Krb5Acceptor(key_lookup=lookup_for(service_key), replay_cache=ReplayCache(),
                       random=counter_random())
    refused(acc, ini.initial_token(), 31, DefectiveCredential)


def test_wrong_session_key_is_error_31() -> None:
    service_key, session_key = keys(18)
    ticket = make_ticket(service_key, session_key)
    ini = Krb5Initiator(ticket=ticket, session_key=Key(18, bytes(32)), client=CLIENT,
                        client_realm=REALM, now=NOW, random=counter_random())
    acc = Krb5Acceptor(key_lookup=lookup_for(service_key), replay_cache=ReplayCache(),
                       random=counter_random())
    refused(acc, ini.initial_token(), 31, DefectiveCredential)


@pytest.mark.parametrize("kvno,code", [(3, 44), (None, 45)])
def test_unknown_key_version(kvno: int | None, code: int) -> None:
    service_key, session_key = keys(18)
    ticket = make_ticket(service_key, session_key, kvno=kvno)  # type: ignore[arg-type]
    ini = Krb5Initiator(ticket=ticket, session_key=session_key, client=CLIENT, client_realm=REALM,
                        now=NOW, random=counter_random())
    acc = Krb5Acceptor(key_lookup=lookup_for(service_key), replay_cache=ReplayCache(),
                       random=counter_random())
    refused(acc, ini.initial_token(), code, NoCredential)


def test_ticket_for_someone_else_is_error_35() -> None:
    ini, acc, _, _ = pair(service="HTTP/other@GSS.TEST")
    refused(acc, ini.initial_token(), 35, NoCredential)
    ini, acc, _, _ = pair(service=SERVICE_STR)
    acc.step(ini.initial_token(), now=NOW)


def test_expired_and_postdated_tickets() -> None:
    service_key, session_key = keys(18)
    for kw, code, cls in [
        ({"end": NOW - timedelta(minutes=10)}, 32, CredentialsExpired),
        ({"start": NOW + timedelta(hours=1)}, 33, DefectiveCredential),
    ]:
        ticket = make_ticket(service_key, session_key, **kw)  # type: ignore[arg-type]
        ini = Krb5Initiator(ticket=ticket, session_key=session_key, client=CLIENT,
                            client_realm=REALM, now=NOW, random=counter_random())
        acc = Krb5Acceptor(key_lookup=lookup_for(service_key), replay_cache=ReplayCache(),
                           random=counter_random())
        refused(acc, ini.initial_token(), code, cls)


def test_initiator_reports_the_error() -> None:
    ini, acc, _, _ = pair(now=NOW - timedelta(hours=1))
    with pytest.raises(GssError) as info:
        acc.step(ini.initial_token(), now=NOW)
    assert info.value.output_token is not None
    with pytest.raises(KerberosErrorToken) as err:
        ini.step(info.value.output_token)
    assert err.value.krb_error == 37 and "37" in str(err.value)


@pytest.mark.parametrize("garbage", [
    b"", b"\x60", b"\x60\x00", b"\x30\x03\x02\x01\x05", b"\x60\x05\x06\x03\x2a\x03\x04",
    b"\x60\x0d\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01\x00",
    b"\x60\x10\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01\x00\x6e\x01\x00",
    b"\x60\x0c\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x02\x00",
])
def test_malformed_tokens_are_defective(garbage: bytes) -> None:
    _, acc, _, _ = pair()
    with pytest.raises((DefectiveToken, BadMechanism)):
        acc.step(garbage, now=NOW)


def test_truncations_of_a_real_token_never_crash() -> None:
    ini, _, _, _ = pair()
    tok = ini.initial_token()
    for cut in range(0, len(tok), 7):
        _, acc, _, _ = pair()
        with pytest.raises(GssError):
            acc.step(tok[:cut], now=NOW)
    for i in range(17, len(tok), 11):
        _, acc, _, _ = pair()
        flipped = bytearray(tok)
        flipped[i] ^= 0x40
        with contextlib.suppress(GssError):
            acc.step(bytes(flipped), now=NOW)
