"""AP-REQ verification shared by the KDC's TGS exchange and the GSS krb5 acceptor, as MIT
shares krb5_rd_req_decoded between src/kdc and the GSS mechanism (RFC 4120 3.2.3, 3.3.2).

`rd_req` opens the ticket (usage 2) with the caller's key, then the authenticator (usage 7
in a TGS-REQ, 11 in an AP exchange), and checks in MIT's order: the authenticator names
the ticket's client (KRB_AP_ERR_BADMATCH), its time is within the allowed skew
(KRB_AP_ERR_SKEW), the ticket has started (KRB_AP_ERR_TKT_NYV) and has not ended
(KRB_AP_ERR_TKT_EXPIRED). A refusal is an `ApReqRefused` with a typed `ApFault`; each
caller turns it into its own answer (a KRB-ERROR and audit outcome in the KDC, a GssError
with a KRB-ERROR token in the acceptor). What only one side checks stays with it: the
req-body checksum and KDC options in the KDC, the 0x8003 checksum and the replay cache in
the acceptor.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from kerbfirst.crypto import IntegrityError, KerberosCryptoError, Key, decrypt
from kerbfirst.krb.names import unparse_principal
from kerbfirst.wire.constants import (
    KRB_AP_ERR_BAD_INTEGRITY,
    KRB_AP_ERR_BADMATCH,
    KRB_AP_ERR_SKEW,
    KRB_AP_ERR_TKT_EXPIRED,
    KRB_AP_ERR_TKT_NYV,
    KU_KDC_REP_TICKET,
    TKT_FLG_INVALID,
)
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import ApReq, Authenticator, EncryptedData, EncTicketPart


class ApFault(enum.Enum):
    """Why an AP-REQ was refused."""

    TICKET_INTEGRITY = "ticket-integrity"
    TICKET_MALFORMED = "ticket-malformed"
    SESSION_KEY_UNUSABLE = "session-key-unusable"
    AUTHENTICATOR_INTEGRITY = "authenticator-integrity"
    AUTHENTICATOR_MALFORMED = "authenticator-malformed"
    CLIENT_MISMATCH = "client-mismatch"
    SKEW = "skew"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRED = "expired"


# The RFC 4120 7.5.9 error code MIT answers each fault with.
FAULT_CODES: dict[ApFault, int] = {
    ApFault.TICKET_INTEGRITY: KRB_AP_ERR_BAD_INTEGRITY,
    ApFault.TICKET_MALFORMED: KRB_AP_ERR_BAD_INTEGRITY,
    ApFault.SESSION_KEY_UNUSABLE: KRB_AP_ERR_BAD_INTEGRITY,
    ApFault.AUTHENTICATOR_INTEGRITY: KRB_AP_ERR_BAD_INTEGRITY,
    ApFault.AUTHENTICATOR_MALFORMED: KRB_AP_ERR_BAD_INTEGRITY,
    ApFault.CLIENT_MISMATCH: KRB_AP_ERR_BADMATCH,
    ApFault.SKEW: KRB_AP_ERR_SKEW,
    ApFault.NOT_YET_VALID: KRB_AP_ERR_TKT_NYV,
    ApFault.EXPIRED: KRB_AP_ERR_TKT_EXPIRED,
}


class ApReqRefused(Exception):
    """An AP-REQ refused by `rd_req`: the fault, a reason a person can act on, and what had
    been opened by then (for the caller's KRB-ERROR and audit record)."""

    def __init__(
        self,
        fault: ApFault,
        reason: str,
        *,
        ticket: EncTicketPart | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        super().__init__(reason)
        self.fault = fault
        self.code = FAULT_CODES[fault]
        self.reason = reason
        self.ticket = ticket
        self.authenticator = authenticator


@dataclass(frozen=True, slots=True)
class VerifiedApReq:
    """An AP-REQ that passed `rd_req`: the opened ticket, its session key, the authenticator."""

    ticket: EncTicketPart
    session_key: Key
    authenticator: Authenticator


# (service principal text, kvno or None for the newest, etype) -> the service's long-term
# key, or None: what an acceptor finds its keys with (MIT's rd_req takes a keytab).
KeyLookup = Callable[[str, int | None, int], Key | None]

# Opens a ticket's enc-part: the EncTicketPart and its session key as a crypto Key. Raises
# IntegrityError (wrong key, tampered), DecodeError or KerberosCryptoError.
TicketOpener = Callable[[EncryptedData], tuple[EncTicketPart, Key]]


def decrypt_ticket(key: Key, cipher: bytes) -> tuple[EncTicketPart, Key]:
    """The EncTicketPart sealed in `cipher` with the server's key (RFC 4120 5.3, usage 2)
    and its session key; raises the errors a TicketOpener raises."""
    part = EncTicketPart.decode(decrypt(key, KU_KDC_REP_TICKET, cipher))
    return part, Key(part.key.keytype, part.key.keyvalue)


def rd_req(
    ap_req: ApReq,
    *,
    open_ticket: TicketOpener,
    server: str,
    usage: int,
    now: datetime,
    skew: timedelta,
) -> VerifiedApReq:
    """Open and verify `ap_req` for `server` (its text name, for reasons); see the module."""
    enc = ap_req.ticket.enc_part
    try:
        ticket, session_key = open_ticket(enc)
    except IntegrityError:
        raise ApReqRefused(
            ApFault.TICKET_INTEGRITY,
            f"ticket does not decrypt with the key of {server} (kvno {enc.kvno}): the "
            "ticket predates a key change or the key held here is wrong",
        ) from None
    except DecodeError as exc:
        raise ApReqRefused(
            ApFault.TICKET_MALFORMED, f"ticket decrypted but is malformed: {exc}"
        ) from None
    except KerberosCryptoError as crypto_exc:  # own name: mypyc types a name once
        raise ApReqRefused(
            ApFault.SESSION_KEY_UNUSABLE, f"the ticket's session key is unusable: {crypto_exc}"
        ) from None
    try:
        auth = Authenticator.decode(decrypt(session_key, usage, ap_req.authenticator.cipher))
    except (IntegrityError, KerberosCryptoError):
        raise ApReqRefused(
            ApFault.AUTHENTICATOR_INTEGRITY,
            "authenticator does not decrypt with the ticket's session key",
            ticket=ticket,
        ) from None
    except DecodeError as exc:
        raise ApReqRefused(
            ApFault.AUTHENTICATOR_MALFORMED,
            f"authenticator decrypted but is malformed: {exc}",
            ticket=ticket,
        ) from None
    fault = _check(ticket, auth, now, skew)
    if fault is not None:
        raise ApReqRefused(*fault, ticket=ticket, authenticator=auth)
    return VerifiedApReq(ticket, session_key, auth)


def _check(
    ticket: EncTicketPart, auth: Authenticator, now: datetime, skew: timedelta
) -> tuple[ApFault, str] | None:
    if auth.cname != ticket.cname or auth.crealm != ticket.crealm:
        return ApFault.CLIENT_MISMATCH, (
            f"the authenticator names {unparse_principal(auth.cname, auth.crealm)} but the "
            f"ticket is for {unparse_principal(ticket.cname, ticket.crealm)}"
        )
    offset = abs(auth.ctime - now)
    if offset > skew:
        return ApFault.SKEW, (
            f"client clock is {int(offset.total_seconds())} s away from this host's, more "
            f"than the allowed {int(skew.total_seconds())} s; synchronise the clocks (NTP)"
        )
    start = ticket.starttime or ticket.authtime
    if start - now > skew or ticket.flags & TKT_FLG_INVALID:
        return ApFault.NOT_YET_VALID, f"ticket is not valid before {start.isoformat()}"
    if now - ticket.endtime > skew:
        return ApFault.EXPIRED, (
            f"ticket expired at {ticket.endtime.isoformat()}; get a new one (kinit, kvno)"
        )
    return None
