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

from kerbfirst.wire import constants as c

E_TEXT: Final[dict[int, str]] = {
    c.KDC_ERR_NAME_EXP: "Client's entry in database has expired",
    c.KDC_ERR_SERVICE_EXP: "Server's entry in database has expired",
    c.KDC_ERR_BAD_PVNO: "Requested protocol version not supported",
    c.KDC_ERR_C_PRINCIPAL_UNKNOWN: "Client not found in Kerberos database",
    c.KDC_ERR_S_PRINCIPAL_UNKNOWN: "Server not found in Kerberos database",
    c.KDC_ERR_CANNOT_POSTDATE: "Ticket is ineligible for postdating",
    c.KDC_ERR_NEVER_VALID: "Requested effective lifetime is negative or too short",
    c.KDC_ERR_POLICY: "KDC policy rejects request",
    c.KDC_ERR_BADOPTION: "KDC can't fulfill requested option",
    c.KDC_ERR_ETYPE_NOSUPP: "KDC has no support for encryption type",
    c.KDC_ERR_SUMTYPE_NOSUPP: "KDC has no support for checksum type",
    c.KDC_ERR_PADATA_TYPE_NOSUPP: "KDC has no support for padata type",
    c.KDC_ERR_CLIENT_REVOKED: "Client's credentials have been revoked",
    c.KDC_ERR_SERVICE_REVOKED: "Credentials for server have been revoked",
    c.KDC_ERR_TGT_REVOKED: "TGT has been revoked",
    c.KDC_ERR_KEY_EXPIRED: "Password has expired",
    c.KDC_ERR_PREAUTH_FAILED: "Preauthentication failed",
    c.KDC_ERR_PREAUTH_REQUIRED: "Additional pre-authentication required",
    c.KDC_ERR_SVC_UNAVAILABLE: "A service is not available that is required to process "
    "the request",
    c.KRB_AP_ERR_BAD_INTEGRITY: "Decrypt integrity check failed",
    c.KRB_AP_ERR_TKT_EXPIRED: "Ticket expired",
    c.KRB_AP_ERR_TKT_NYV: "Ticket not yet valid",
    c.KRB_AP_ERR_REPEAT: "Request is a replay",
    c.KRB_AP_ERR_NOT_US: "The ticket isn't for us",
    c.KRB_AP_ERR_BADMATCH: "Ticket/authenticator don't match",
    c.KRB_AP_ERR_SKEW: "Clock skew too great",
    c.KRB_AP_ERR_BADADDR: "Incorrect net address",
    c.KRB_AP_ERR_BADVERSION: "Protocol version mismatch",
    c.KRB_AP_ERR_MSG_TYPE: "Invalid message type",
    c.KRB_AP_ERR_MODIFIED: "Message stream modified",
    c.KRB_AP_ERR_BADORDER: "Message out of order",
    c.KRB_AP_ERR_BADKEYVER: "Key version is not available",
    c.KRB_AP_ERR_NOKEY: "Service key not available",
    c.KRB_AP_ERR_INAPP_CKSUM: "Inappropriate type of checksum in message",
    c.KRB_ERR_RESPONSE_TOO_BIG: "Response too big for UDP, retry with TCP",
    c.KRB_ERR_GENERIC: "Generic error",
    c.KRB_ERR_FIELD_TOOLONG: "Field is too long for this implementation",
    c.KDC_ERR_WRONG_REALM: "Realm not local to KDC",
}


def e_text(code: int) -> str:
    """The fixed e-text for `code` (never derived from the request or the database)."""
    return E_TEXT.get(code, "Kerberos error")
