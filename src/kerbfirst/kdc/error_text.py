"""The e-text of every KRB-ERROR the KDC sends: one fixed text per error code.

RFC 4120 5.9.1 makes e-text optional "additional text to help explain the error code". It
goes to a peer that has not authenticated, so it carries nothing the code does not already
say: no principal names, realms, enctype lists or times from the request or the database,
no thresholds, kvnos or lock-out deadlines, and a locked-out principal reads exactly as a
disabled one (both KDC_ERR_CLIENT_REVOKED). The texts are MIT krb5's messages for the
codes (krb5_err.et, what krb5_get_error_message gives and what MIT clients print); the
detail of each refusal goes to the KDC's audit log only.
"""

from __future__ import annotations

from typing import Final

from kerbfirst.wire.constants import (
    KDC_ERR_BAD_PVNO,
    KDC_ERR_BADOPTION,
    KDC_ERR_C_PRINCIPAL_UNKNOWN,
    KDC_ERR_CANNOT_POSTDATE,
    KDC_ERR_CLIENT_REVOKED,
    KDC_ERR_ETYPE_NOSUPP,
    KDC_ERR_KEY_EXPIRED,
    KDC_ERR_NAME_EXP,
    KDC_ERR_NEVER_VALID,
    KDC_ERR_PADATA_TYPE_NOSUPP,
    KDC_ERR_POLICY,
    KDC_ERR_PREAUTH_FAILED,
    KDC_ERR_PREAUTH_REQUIRED,
    KDC_ERR_S_PRINCIPAL_UNKNOWN,
    KDC_ERR_SERVICE_EXP,
    KDC_ERR_SERVICE_REVOKED,
    KDC_ERR_SUMTYPE_NOSUPP,
    KDC_ERR_SVC_UNAVAILABLE,
    KDC_ERR_TGT_REVOKED,
    KDC_ERR_WRONG_REALM,
    KRB_AP_ERR_BAD_INTEGRITY,
    KRB_AP_ERR_BADADDR,
    KRB_AP_ERR_BADKEYVER,
    KRB_AP_ERR_BADMATCH,
    KRB_AP_ERR_BADORDER,
    KRB_AP_ERR_BADVERSION,
    KRB_AP_ERR_INAPP_CKSUM,
    KRB_AP_ERR_MODIFIED,
    KRB_AP_ERR_MSG_TYPE,
    KRB_AP_ERR_NOKEY,
    KRB_AP_ERR_NOT_US,
    KRB_AP_ERR_REPEAT,
    KRB_AP_ERR_SKEW,
    KRB_AP_ERR_TKT_EXPIRED,
    KRB_AP_ERR_TKT_NYV,
    KRB_ERR_FIELD_TOOLONG,
    KRB_ERR_GENERIC,
    KRB_ERR_RESPONSE_TOO_BIG,
)

E_TEXT: Final[dict[int, str]] = {
    KDC_ERR_NAME_EXP: "Client's entry in database has expired",
    KDC_ERR_SERVICE_EXP: "Server's entry in database has expired",
    KDC_ERR_BAD_PVNO: "Requested protocol version not supported",
    KDC_ERR_C_PRINCIPAL_UNKNOWN: "Client not found in Kerberos database",
    KDC_ERR_S_PRINCIPAL_UNKNOWN: "Server not found in Kerberos database",
    KDC_ERR_CANNOT_POSTDATE: "Ticket is ineligible for postdating",
    KDC_ERR_NEVER_VALID: "Requested effective lifetime is negative or too short",
    KDC_ERR_POLICY: "KDC policy rejects request",
    KDC_ERR_BADOPTION: "KDC can't fulfill requested option",
    KDC_ERR_ETYPE_NOSUPP: "KDC has no support for encryption type",
    KDC_ERR_SUMTYPE_NOSUPP: "KDC has no support for checksum type",
    KDC_ERR_PADATA_TYPE_NOSUPP: "KDC has no support for padata type",
    KDC_ERR_CLIENT_REVOKED: "Client's credentials have been revoked",
    KDC_ERR_SERVICE_REVOKED: "Credentials for server have been revoked",
    KDC_ERR_TGT_REVOKED: "TGT has been revoked",
    KDC_ERR_KEY_EXPIRED: "Password has expired",
    KDC_ERR_PREAUTH_FAILED: "Preauthentication failed",
    KDC_ERR_PREAUTH_REQUIRED: "Additional pre-authentication required",
    KDC_ERR_SVC_UNAVAILABLE: "A service is not available that is required to process "
    "the request",
    KRB_AP_ERR_BAD_INTEGRITY: "Decrypt integrity check failed",
    KRB_AP_ERR_TKT_EXPIRED: "Ticket expired",
    KRB_AP_ERR_TKT_NYV: "Ticket not yet valid",
    KRB_AP_ERR_REPEAT: "Request is a replay",
    KRB_AP_ERR_NOT_US: "The ticket isn't for us",
    KRB_AP_ERR_BADMATCH: "Ticket/authenticator don't match",
    KRB_AP_ERR_SKEW: "Clock skew too great",
    KRB_AP_ERR_BADADDR: "Incorrect net address",
    KRB_AP_ERR_BADVERSION: "Protocol version mismatch",
    KRB_AP_ERR_MSG_TYPE: "Invalid message type",
    KRB_AP_ERR_MODIFIED: "Message stream modified",
    KRB_AP_ERR_BADORDER: "Message out of order",
    KRB_AP_ERR_BADKEYVER: "Key version is not available",
    KRB_AP_ERR_NOKEY: "Service key not available",
    KRB_AP_ERR_INAPP_CKSUM: "Inappropriate type of checksum in message",
    KRB_ERR_RESPONSE_TOO_BIG: "Response too big for UDP, retry with TCP",
    KRB_ERR_GENERIC: "Generic error",
    KRB_ERR_FIELD_TOOLONG: "Field is too long for this implementation",
    KDC_ERR_WRONG_REALM: "Realm not local to KDC",
}


def e_text(code: int) -> str:
    """The fixed e-text for `code` (never derived from the request or the database)."""
    return E_TEXT.get(code, "Kerberos error")
