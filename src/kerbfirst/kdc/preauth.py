"""Pre-authentication, RFC 4120 section 5.2.7, as a small table of handlers (MIT's
kdc_preauth.c does the same): each handler sees only the client entry, the padata value
and the time, and returns the key the client proved it knows, or refuses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from kerbfirst.crypto import IntegrityError, Key, decrypt
from kerbfirst.kdc.audit import Outcome
from kerbfirst.kdc.keys import find_key, first_shared_key
from kerbfirst.kdc.request import Refusal
from kerbfirst.krb.database import (
    KeyEntry,
    PreauthAccountingUnavailable,
    PrincipalDatabase,
    PrincipalEntry,
)
from kerbfirst.krb.names import default_salt
from kerbfirst.wire.constants import (
    KDC_ERR_PREAUTH_FAILED,
    KDC_ERR_SVC_UNAVAILABLE,
    KRB_AP_ERR_SKEW,
    KU_PA_ENC_TIMESTAMP,
    PA_ENC_TIMESTAMP,
    PA_ETYPE_INFO2,
)
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import (
    EncryptedData,
    EtypeInfo2Entry,
    PaData,
    PaEncTsEnc,
    PrincipalName,
    encode_etype_info2,
    encode_method_data,
)


class PreauthInput:
    """What a pre-authentication handler may see."""

    __slots__ = ("allowed", "client", "database", "failure_window", "name", "now", "skew")

    def __init__(
        self,
        *,
        client: PrincipalEntry,
        name: str,
        database: PrincipalDatabase,
        now: datetime,
        skew: timedelta,
        allowed: frozenset[int],
        failure_window: timedelta | None,
    ) -> None:
        self.client = client
        self.name = name
        self.database = database
        self.now = now
        self.skew = skew
        self.allowed = allowed
        self.failure_window = failure_window  # MIT failcnt_interval (LockoutPolicy.window)


def unavailable(reason: str) -> Refusal:
    """Fail closed: an attempt whose result cannot be recorded gets no verdict. MIT
    krb5kdc answers KDC_ERR_SVC_UNAVAILABLE when its database is locked (do_as_req.c), and
    MIT clients then try the realm's next KDC."""
    return Refusal(KDC_ERR_SVC_UNAVAILABLE, Outcome.STORE_UNAVAILABLE, reason)


def verify_enc_timestamp(pa: PreauthInput, value: bytes) -> KeyEntry:
    """PA-ENC-TIMESTAMP, RFC 4120 5.2.7.2: the current time encrypted (usage 1) in the
    client's long-term key. Only the current kvno is tried: after a password change the
    old password no longer works, even for pre-authentication."""
    try:
        enc = EncryptedData.decode(value)
    except DecodeError as exc:
        raise Refusal(
            KDC_ERR_PREAUTH_FAILED, Outcome.BAD_REQUEST, f"malformed PA-ENC-TIMESTAMP: {exc}"
        ) from None
    entry = find_key(pa.client, enc.etype) if enc.etype in pa.allowed else None
    if entry is None:
        raise Refusal(
            KDC_ERR_PREAUTH_FAILED,
            Outcome.PREAUTH_FAILED,
            f"PA-ENC-TIMESTAMP uses enctype {enc.etype}, for which {pa.name} has no current "
            "key; the client should use an enctype from the ETYPE-INFO2 it was sent",
        )
    try:
        plain = decrypt(Key(entry.etype, entry.contents), KU_PA_ENC_TIMESTAMP, enc.cipher)
    except IntegrityError:
        # The one outcome that counts towards lock-out: a wrong long-term key. It is
        # counted durably before it is answered, or not answered as wrong at all.
        try:
            pa.database.record_preauth_failure(pa.name, pa.now, pa.failure_window)
        # (Named apart from the DecodeError handlers' `exc`: the compiled build gives one
        # name one type.)
        except PreauthAccountingUnavailable as not_counted:
            raise unavailable(
                f"wrong password for {pa.name} (enctype {entry.etype}, kvno {entry.kvno}) "
                f"answered as unavailable: the failure could not be counted ({not_counted})"
            ) from None
        raise Refusal(
            KDC_ERR_PREAUTH_FAILED,
            Outcome.PREAUTH_FAILED,
            f"wrong password for {pa.name}: PA-ENC-TIMESTAMP did not decrypt with its "
            f"enctype {entry.etype} key (kvno {entry.kvno})",
        ) from None
    try:
        stamp = PaEncTsEnc.decode(plain)
    except DecodeError as exc:
        raise Refusal(
            KDC_ERR_PREAUTH_FAILED, Outcome.BAD_REQUEST, f"malformed PA-ENC-TS-ENC: {exc}"
        ) from None
    offset = abs(stamp.patimestamp - pa.now)
    if offset > pa.skew:
        # MIT answers KRB_AP_ERR_SKEW here too (kdc_preauth.c verify_enc_timestamp).
        raise Refusal(
            KRB_AP_ERR_SKEW,
            Outcome.SKEW,
            f"client clock is {int(offset.total_seconds())} s away from the KDC's, more than "
            f"the allowed {int(pa.skew.total_seconds())} s; synchronise the clocks (NTP)",
        )
    # Always asked: the store knows the current count (the entry in hand may predate a
    # failure written since), and skips the write when it is zero.
    try:
        pa.database.record_preauth_success(pa.name, pa.now)
    except PreauthAccountingUnavailable as not_reset:
        raise unavailable(
            f"right password for {pa.name} answered as unavailable: its failure count "
            f"could not be reset ({not_reset})"
        ) from None
    return entry


# padata type -> handler. Types not listed (PA-PAC-REQUEST 128, PA-REQ-ENC-PA-REP 149,
# anything unknown) are accepted and ignored, as RFC 4120 5.2.7 asks.
PREAUTH_HANDLERS: dict[int, Callable[[PreauthInput, bytes], KeyEntry]] = {
    PA_ENC_TIMESTAMP: verify_enc_timestamp,
}


def salt_text(entry: KeyEntry, name: PrincipalName, realm: str) -> str:
    """The salt as ETYPE-INFO2 carries it (a KerberosString). An empty stored salt means
    the RFC 4120 section 4 default salt."""
    salt = entry.salt or default_salt(name.name_string, realm)
    try:
        return salt.decode("utf-8")
    except UnicodeDecodeError:
        # MIT's salts are bytes; ones from old DES-era databases need not be UTF-8.
        return salt.decode("latin-1")


def etype_info2(
    client: PrincipalEntry,
    name: PrincipalName,
    realm: str,
    requested: tuple[int, ...],
    allowed: frozenset[int],
) -> tuple[EtypeInfo2Entry, ...]:
    """RFC 4120 5.2.7.5: one entry per enctype the client offered and the principal has,
    in the client's order, so its first entry is the one the client should use."""
    entries: list[EtypeInfo2Entry] = []
    seen: set[int] = set()
    for etype in requested:
        if etype in seen:
            continue
        seen.add(etype)
        key = first_shared_key(client, (etype,), allowed)
        if key is not None:
            entries.append(EtypeInfo2Entry(key.etype, salt_text(key, name, realm), key.s2kparams))
    return tuple(entries)


def preauth_required_data(entries: tuple[EtypeInfo2Entry, ...]) -> bytes:
    """The e-data of KDC_ERR_PREAUTH_REQUIRED: METHOD-DATA naming what the client may use
    (RFC 4120 5.2.7): ETYPE-INFO2 for deriving the key, and PA-ENC-TIMESTAMP."""
    return encode_method_data(
        (PaData(PA_ETYPE_INFO2, encode_etype_info2(entries)), PaData(PA_ENC_TIMESTAMP, b""))
    )
