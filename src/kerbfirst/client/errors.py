"""Errors a Kerberos client meets, named as MIT krb5 names them so that messages read the
same as kinit's (e.g. error 24 is "Password incorrect")."""

from __future__ import annotations

from kerbfirst.wire import constants as _constants

# Every error number of constants.py -> its RFC 4120 name, built once at import.
ERROR_NAMES: dict[int, str] = {
    value: name
    for name, value in vars(_constants).items()
    if isinstance(value, int) and name.startswith(("KDC_ERR_", "KRB_AP_ERR_", "KRB_ERR_"))
}

# MIT krb5's messages for the codes a user meets most (lib/krb5/error_tables/krb5_err.et),
# so kerbfirst's kinit and MIT's say the same thing.
_MESSAGES = {
    _constants.KDC_ERR_C_PRINCIPAL_UNKNOWN: "Client not found in Kerberos database",
    _constants.KDC_ERR_S_PRINCIPAL_UNKNOWN: "Server not found in Kerberos database",
    _constants.KDC_ERR_NEVER_VALID: "Requested effective lifetime is negative or too short",
    _constants.KDC_ERR_POLICY: "KDC policy rejects request",
    _constants.KDC_ERR_BADOPTION: "KDC can't fulfill requested option",
    _constants.KDC_ERR_ETYPE_NOSUPP: "KDC has no support for encryption type",
    _constants.KDC_ERR_CLIENT_REVOKED: "Client's credentials have been revoked",
    _constants.KDC_ERR_PREAUTH_FAILED: "Password incorrect",
    _constants.KDC_ERR_PREAUTH_REQUIRED: "Additional pre-authentication required",
    _constants.KRB_AP_ERR_BAD_INTEGRITY: "Decrypt integrity check failed",
    _constants.KRB_AP_ERR_TKT_EXPIRED: "Ticket expired",
    _constants.KRB_AP_ERR_SKEW: "Clock skew too great",
    _constants.KRB_AP_ERR_MODIFIED: "Message stream modified",
    _constants.KRB_ERR_GENERIC: "Generic error (see e-text)",
}


class KerberosClientError(Exception):
    """Base of every error the client layer raises."""


class KerberosError(KerberosClientError):
    """The KDC answered with a KRB-ERROR (RFC 4120 5.9.1)."""

    def __init__(self, code: int, e_text: str | None = None) -> None:
        self.code = code
        self.name = ERROR_NAMES.get(code, f"KRB_ERROR_{code}")
        self.e_text = e_text
        message = _MESSAGES.get(code, self.name)
        detail = f": {e_text}" if e_text else ""
        super().__init__(f"{message} ({self.name}, {code}){detail}")


class ReplyError(KerberosClientError):
    """A reply that does not answer our request (wrong nonce, names, undecryptable), or a
    message that is not a KDC reply at all. Treat it as an attack or a broken KDC."""
