"""krb5_decode's memo of recently decoded Tickets (a TGT comes back in every TGS-REQ)."""

from __future__ import annotations

import pytest

from kerbfirst.wire import krb5_decode
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import ApReq, EncryptedData, PrincipalName, Ticket


def _ticket(cipher: bytes) -> Ticket:
    return Ticket("R.TEST", PrincipalName(2, ("krbtgt", "R.TEST")), EncryptedData(18, 2, cipher))


def test_same_bytes_give_the_same_ticket_inside_an_ap_req() -> None:
    ap = ApReq(0, _ticket(b"\x01" * 40), EncryptedData(18, None, b"\x02" * 50))
    first = ApReq.decode(ap.encode())
    second = ApReq.decode(ap.encode())
    assert second.ticket is first.ticket  # served from the memo
    assert second == ap and second.authenticator == ap.authenticator  # fields after it read


def test_memo_is_bounded_and_skips_large_tickets() -> None:
    for i in range(krb5_decode._TICKET_MEMO_SIZE + 50):
        Ticket.decode(_ticket(i.to_bytes(4, "big") * 10).encode())
    assert len(krb5_decode._TICKET_MEMO) <= krb5_decode._TICKET_MEMO_SIZE
    big = _ticket(b"\x03" * (krb5_decode._TICKET_MEMO_MAX_BYTES + 1))
    assert Ticket.decode(big.encode()) == big
    limit = krb5_decode._TICKET_MEMO_MAX_BYTES
    assert all(len(raw) <= limit for _, raw in krb5_decode._TICKET_MEMO)


def test_malformed_tickets_are_never_remembered() -> None:
    good = _ticket(b"\x04" * 40).encode()
    bad = good[:-1] + b"\x00\x00"  # one byte more than the length says
    for _ in range(2):
        with pytest.raises(DecodeError):
            Ticket.decode(bad)
    assert not any(raw == bad for _, raw in krb5_decode._TICKET_MEMO)
