"""The IAKerb transcript and its KRB-FINISHED checksum (draft-ietf-kitten-iakerb-03 3.2).

Both sides append every IAKerb token, exactly as sent or received, to a krb.Transcript
(MIT iakerb_save_token), bounded in size: an over-long one is a DefectiveCredential. The
initiator's AP-REQ carries, as a GSS checksum extension (RFC 4121 4.1.1.1),
IAKERB-FINISHED: a keyed checksum over the transcript with the authenticator subkey. The
acceptor recomputes it over its own transcript: a token changed on the way (a downgraded
realm, a swapped KDC reply) makes them differ.

    draft-03 (MIT >= 1.22, Windows): extension type 2, key usage 41
    MIT <= 1.21:                      extension type 1, key usage 42
"""

from __future__ import annotations

import dataclasses

from kerbfirst.crypto import Key, checksum_type, make_checksum, verify_checksum
from kerbfirst.gss.checksum import (
    GSS_EXTS_IAKERB_FINISHED,
    GSS_EXTS_IAKERB_FINISHED_MIT_OLD,
    GssChecksum,
)
from kerbfirst.gss.errors import DefectiveCredential
from kerbfirst.wire.constants import (
    KRB_AP_ERR_BAD_INTEGRITY,
    KU_IAKERB_FINISHED,
    KU_IAKERB_FINISHED_MIT_OLD,
)
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.iakerb import IakerbVariant, decode_finished, encode_finished
from kerbfirst.wire.krb5 import Checksum


@dataclasses.dataclass(frozen=True, slots=True)
class FinishedParameters:
    extension_type: int
    key_usage: int


FINISHED = {
    IakerbVariant.DRAFT03: FinishedParameters(GSS_EXTS_IAKERB_FINISHED, KU_IAKERB_FINISHED),
    IakerbVariant.MIT_OLD: FinishedParameters(GSS_EXTS_IAKERB_FINISHED_MIT_OLD,
                                              KU_IAKERB_FINISHED_MIT_OLD),
}


def make_finished(subkey: Key, transcript: bytes, variant: IakerbVariant) -> tuple[int, bytes]:
    """The (extension type, IAKERB-FINISHED) pair for the initiator's 0x8003 checksum."""
    params = FINISHED[variant]
    cksum = Checksum(checksum_type(subkey.etype),
                     make_checksum(subkey, params.key_usage, transcript))
    return params.extension_type, encode_finished(cksum)


def verify_finished(gss_cksum: GssChecksum, subkey: Key | None, transcript: bytes,
                    variant: IakerbVariant) -> None:
    """Raise DefectiveCredential (KRB_AP_ERR_BAD_INTEGRITY, as MIT) unless the AP-REQ
    carries a finished checksum of `variant` that matches our transcript."""
    params = FINISHED[variant]
    data = gss_cksum.extension(params.extension_type)
    if data is None:
        other = [t for t, _ in gss_cksum.extensions]
        raise FinishedMissing(
            f"the AP-REQ after an IAKerb conversation has no KRB-FINISHED extension (type "
            f"{params.extension_type} for {variant.value}; got types {other}): refused, the "
            "tunnelled exchange would be unauthenticated", krb_error=KRB_AP_ERR_BAD_INTEGRITY)
    if subkey is None:
        raise FinishedMissing("the AP-REQ has no authenticator subkey to verify the "
                                  "IAKerb finished checksum with",
                                  krb_error=KRB_AP_ERR_BAD_INTEGRITY)
    try:
        cksum = decode_finished(data)
    except DecodeError as exc:
        raise FinishedMismatch(f"IAKERB-FINISHED does not decode: {exc}",
                                  krb_error=KRB_AP_ERR_BAD_INTEGRITY) from None
    if cksum.cksumtype != checksum_type(subkey.etype):
        raise FinishedMismatch(
            f"IAKERB-FINISHED checksum type {cksum.cksumtype} does not go with the subkey's "
            f"enctype {subkey.etype}", krb_error=KRB_AP_ERR_BAD_INTEGRITY)
    if not verify_checksum(subkey, params.key_usage, transcript, cksum.checksum):
        raise FinishedMismatch(
            "IAKerb finished checksum does not match this acceptor's transcript: a token "
            "was altered between initiator and acceptor", krb_error=KRB_AP_ERR_BAD_INTEGRITY)


class FinishedMissing(DefectiveCredential):
    """An IAKerb conversation ended in an AP-REQ without KRB-FINISHED."""


class FinishedMismatch(DefectiveCredential):
    """The KRB-FINISHED checksum does not match the acceptor's transcript."""
