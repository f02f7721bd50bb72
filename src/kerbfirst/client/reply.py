"""What the AS and TGS exchanges share on the client side: reading a KDC's answer and
checking it answers our request (RFC 4120 3.1.5 / 3.3.4)."""

from __future__ import annotations

from datetime import datetime

from kerbfirst.client.credential import Credential
from kerbfirst.client.errors import KerberosError, ReplyError
from kerbfirst.crypto import IntegrityError, KerberosCryptoError, Key, decrypt
from kerbfirst.krb.names import unparse_principal
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import (
    EncKdcRepPart,
    KdcRep,
    KdcReq,
    KrbError,
    PaEncTsEnc,
    PrincipalName,
    decode_kdc_message,
)

NONCE_MASK = 0x7FFFFFFF  # MIT sends 31-bit nonces: some KDCs read the UInt32 as signed


def read_reply(data: bytes, expected_msg_type: int) -> KdcRep | KrbError:
    try:
        msg = decode_kdc_message(data)
    except DecodeError as exc:
        raise ReplyError(f"the KDC's answer is not a Kerberos message: {exc}") from None
    if isinstance(msg, KdcReq):
        raise ReplyError("the KDC answered with a request, not a reply")
    if isinstance(msg, KdcRep) and msg.msg_type != expected_msg_type:
        raise ReplyError(f"expected message type {expected_msg_type}, got {msg.msg_type}")
    return msg


def raise_error(err: KrbError) -> None:
    raise KerberosError(err.error_code, err.e_text)


def decrypt_reply(key: Key, usage: int, rep: KdcRep, what: str) -> EncKdcRepPart:
    if rep.enc_part.etype != key.etype:
        raise ReplyError(
            f"{what} is encrypted with enctype {rep.enc_part.etype}, our key is {key.etype}"
        )
    try:
        return EncKdcRepPart.decode(decrypt(key, usage, rep.enc_part.cipher))
    except (IntegrityError, KerberosCryptoError):
        raise ReplyError(f"{what} did not decrypt: wrong key (password?) or tampered") from None
    except DecodeError as exc:
        raise ReplyError(f"{what} decrypted to a malformed EncKDCRepPart: {exc}") from None


def credential_from(
    rep: KdcRep,
    enc: EncKdcRepPart,
    *,
    nonce: int,
    client: PrincipalName,
    crealm: str,
    server: PrincipalName,
    srealm: str,
) -> Credential:
    """RFC 4120 3.1.5: the reply must carry our nonce and name the principals we asked for
    (no canonicalization is requested, so names come back unchanged)."""
    if enc.nonce != nonce:
        raise ReplyError("the reply's nonce is not ours: a replayed or forged reply")
    if rep.cname != client or rep.crealm != crealm:
        raise ReplyError(f"the reply is for client {unparse_principal(rep.cname, rep.crealm)}")
    # Names compare by their components: the name type is only a hint (RFC 4120 6.2,
    # MIT krb5_principal_compare), and a KDC may answer a host-based name with another.
    parts = server.name_string
    if (
        enc.sname.name_string != parts
        or enc.srealm != srealm
        or rep.ticket.sname.name_string != parts
    ):
        raise ReplyError(f"the reply is for server {unparse_principal(enc.sname, enc.srealm)}")
    try:
        session_key = Key(enc.key.keytype, enc.key.keyvalue)
    except KerberosCryptoError as exc:
        raise ReplyError(f"the reply's session key is unusable: {exc}") from None
    return Credential(
        client=rep.cname,
        crealm=rep.crealm,
        server=enc.sname,
        srealm=enc.srealm,
        session_key=session_key,
        ticket=rep.ticket,
        ticket_bytes=rep.ticket.raw if rep.ticket.raw is not None else rep.ticket.encode(),
        flags=enc.flags,
        authtime=enc.authtime,
        starttime=enc.starttime,
        endtime=enc.endtime,
        renew_till=enc.renew_till,
    )


def timestamp(now: datetime) -> PaEncTsEnc:
    return PaEncTsEnc(patimestamp=now.replace(microsecond=0), pausec=now.microsecond)
