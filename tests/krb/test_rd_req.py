"""krb.rd_req: the AP-REQ verification the KDC's TGS exchange and the GSS acceptor share,
refusing with a typed fault (and what was opened by then) in MIT's order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kerbfirst.crypto import Key, encrypt
from kerbfirst.krb.key_usage import authenticator_usage, tgs_rep_usage
from kerbfirst.krb.rd_req import ApFault, ApReqRefused, decrypt_ticket, rd_req
from kerbfirst.krb.transcript import Transcript, TranscriptTooLong
from kerbfirst.wire import constants as c
from kerbfirst.wire.krb5 import (
    ApReq,
    Authenticator,
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    PrincipalName,
    Ticket,
    TransitedEncoding,
)

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
SKEW = timedelta(minutes=5)
ALICE = PrincipalName(c.NT_PRINCIPAL, ("alice",))
SERVICE_KEY = Key(18, bytes(range(32)))
SESSION_KEY = Key(18, bytes(range(32, 64)))
USAGE = authenticator_usage(in_tgs_req=False)


def _ap_req(*, start: datetime | None = None, end: datetime = NOW + timedelta(hours=1),
            flags: int = 0, ctime: datetime = NOW, cname: PrincipalName = ALICE,
            auth_key: Key = SESSION_KEY) -> ApReq:
    part = EncTicketPart(
        flags=flags, key=EncryptionKey(18, SESSION_KEY.contents), crealm="R", cname=ALICE,
        transited=TransitedEncoding(1, b""), authtime=NOW - timedelta(hours=1),
        starttime=start, endtime=end, renew_till=None)
    ticket = Ticket("R", PrincipalName(c.NT_SRV_HST, ("host", "h")),
                    EncryptedData(18, 3, encrypt(SERVICE_KEY, c.KU_KDC_REP_TICKET, part.encode(),
                                                 confounder=bytes(16))))
    auth = Authenticator(crealm="R", cname=cname, cusec=0, ctime=ctime)
    cipher = encrypt(auth_key, USAGE, auth.encode(), confounder=bytes(16))
    return ApReq(ap_options=0, ticket=ticket, authenticator=EncryptedData(18, None, cipher))


def _rd_req(ap_req: ApReq, key: Key = SERVICE_KEY, usage: int = USAGE):  # type: ignore[no-untyped-def]
    return rd_req(ap_req, open_ticket=lambda enc: decrypt_ticket(key, enc.cipher),
                  server="host/h@R", usage=usage, now=NOW, skew=SKEW)


def _fault(ap_req: ApReq, **kw: object) -> ApReqRefused:
    with pytest.raises(ApReqRefused) as info:
        _rd_req(ap_req, **kw)
    return info.value


def test_a_good_ap_req_is_opened() -> None:
    verified = _rd_req(_ap_req())
    assert verified.ticket.cname == ALICE and verified.session_key == SESSION_KEY
    assert verified.authenticator.ctime == NOW


def test_wrong_service_key() -> None:
    refused = _fault(_ap_req(), key=Key(18, bytes(32)))
    assert refused.fault is ApFault.TICKET_INTEGRITY and refused.ticket is None
    assert refused.code == c.KRB_AP_ERR_BAD_INTEGRITY
    assert "host/h@R" in refused.reason and "kvno 3" in refused.reason


def test_authenticator_under_another_key_or_usage() -> None:
    refused = _fault(_ap_req(auth_key=Key(18, bytes(32))))
    assert refused.fault is ApFault.AUTHENTICATOR_INTEGRITY and refused.ticket is not None
    # a TGS-REQ authenticator (usage 7) is not an AP-REQ one (usage 11)
    refused = _fault(_ap_req(), usage=authenticator_usage(in_tgs_req=True))
    assert refused.fault is ApFault.AUTHENTICATOR_INTEGRITY


@pytest.mark.parametrize(
    ("args", "fault"),
    [
        ({"cname": PrincipalName(1, ("mallory",))}, ApFault.CLIENT_MISMATCH),
        ({"ctime": NOW - timedelta(minutes=6)}, ApFault.SKEW),
        ({"start": NOW + timedelta(minutes=6)}, ApFault.NOT_YET_VALID),
        ({"flags": c.TKT_FLG_INVALID}, ApFault.NOT_YET_VALID),
        ({"end": NOW - timedelta(minutes=6)}, ApFault.EXPIRED),
        # two faults: MIT's order, the skew first
        ({"end": NOW - timedelta(minutes=6), "ctime": NOW + timedelta(hours=1)}, ApFault.SKEW),
    ],
)
def test_checks_refuse_with_a_typed_fault(args: dict[str, object], fault: ApFault) -> None:
    refused = _fault(_ap_req(**args))  # type: ignore[arg-type]
    assert refused.fault is fault
    assert refused.ticket is not None and refused.authenticator is not None


def test_within_the_skew_is_accepted() -> None:
    _rd_req(_ap_req(ctime=NOW - timedelta(minutes=4), end=NOW - timedelta(minutes=4)))


def test_key_usage_choices() -> None:
    assert tgs_rep_usage(subkey=True) == 9 and tgs_rep_usage(subkey=False) == 8
    assert authenticator_usage(in_tgs_req=True) == 7 and authenticator_usage(in_tgs_req=False) == 11


def test_transcript_records_in_order_and_is_bounded() -> None:
    t = Transcript(limit=10)
    assert t.sent(b"abc") == b"abc"
    t.received(b"de")
    assert t.messages == [("sent", b"abc"), ("received", b"de")] and t.data() == b"abcde"
    with pytest.raises(TranscriptTooLong):
        t.add("sent", b"123456")
    assert len(t) == 2
    with pytest.raises(KeyError):
        Transcript(limit=1, error=KeyError).add("sent", b"xx")
