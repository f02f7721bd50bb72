"""GSS-API errors as exceptions carrying their GSS major and minor status codes.

Major codes are RFC 2744 section 3.9.1 (calling errors in bits 24-31, routine errors in
bits 16-23, supplementary information in bits 0-15). For failures that are Kerberos
errors the minor code is MIT krb5's com_err value (ERROR_TABLE_BASE_krb5 + the RFC 4120
7.5.9 error code), which is what a user comparing with MIT's `gss-server` output sees, and
`krb_error` keeps the plain RFC 4120 code. The class names follow pyspnego's and the
routine-error names of RFC 2743 1.2.1.1.
"""

from __future__ import annotations

# RFC 2744 3.9.1: routine errors, shifted into bits 16-23
GSS_S_COMPLETE = 0
GSS_S_BAD_MECH = 1 << 16
GSS_S_BAD_NAME = 2 << 16
GSS_S_BAD_BINDINGS = 4 << 16
GSS_S_BAD_SIG = 6 << 16  # GSS_S_BAD_MIC
GSS_S_NO_CRED = 7 << 16
GSS_S_NO_CONTEXT = 8 << 16
GSS_S_DEFECTIVE_TOKEN = 9 << 16
GSS_S_DEFECTIVE_CREDENTIAL = 10 << 16
GSS_S_CREDENTIALS_EXPIRED = 11 << 16
GSS_S_CONTEXT_EXPIRED = 12 << 16
GSS_S_FAILURE = 13 << 16
GSS_S_BAD_QOP = 14 << 16
# RFC 2744 3.9.1: supplementary information bits
GSS_S_CONTINUE_NEEDED = 1 << 0
GSS_S_DUPLICATE_TOKEN = 1 << 1
GSS_S_OLD_TOKEN = 1 << 2
GSS_S_UNSEQ_TOKEN = 1 << 3
GSS_S_GAP_TOKEN = 1 << 4

# MIT krb5's com_err table base for Kerberos error codes (krb5_err.et, ERROR_TABLE_BASE_krb5)
KRB5_ERROR_TABLE_BASE = -1765328384


class GssError(Exception):
    """Base of every GSS failure; `major`/`minor` as gss_* calls would return them."""

    major = GSS_S_FAILURE

    def __init__(self, message: str, *, minor: int = 0, krb_error: int | None = None) -> None:
        super().__init__(message)
        self.krb_error = krb_error
        self.minor = (KRB5_ERROR_TABLE_BASE + krb_error) if (krb_error and not minor) else minor
        # A context-establishment failure may still owe the peer a token (a KRB-ERROR,
        # RFC 4121 4.1); the I/O driver sends it before closing.
        self.output_token: bytes | None = None


class BadMechanism(GssError):
    """The token names a mechanism other than the one this context speaks."""

    major = GSS_S_BAD_MECH


class BadName(GssError):
    major = GSS_S_BAD_NAME


class BadBindings(GssError):
    """Channel bindings differ between initiator and acceptor (RFC 4121 4.1.1.2)."""

    major = GSS_S_BAD_BINDINGS


class BadMic(GssError):
    """A MIC or a Wrap token's checksum/ciphertext failed verification (RFC 4121 4.2.4)."""

    major = GSS_S_BAD_SIG


class NoContext(GssError):
    """The context is not established (or already failed) for the call made."""

    major = GSS_S_NO_CONTEXT


class NoCredential(GssError):
    """No key for the ticket's service principal, key version and enctype."""

    major = GSS_S_NO_CRED


class DefectiveToken(GssError):
    """The token is malformed: wrong framing, wrong token id, bad DER, bad lengths."""

    major = GSS_S_DEFECTIVE_TOKEN


class DefectiveCredential(GssError):
    """The ticket or authenticator failed a Kerberos check (RFC 4120 3.2.3)."""

    major = GSS_S_DEFECTIVE_CREDENTIAL


class CredentialsExpired(GssError):
    major = GSS_S_CREDENTIALS_EXPIRED


class ContextExpired(GssError):
    """The context outlived its ticket's end time."""

    major = GSS_S_CONTEXT_EXPIRED


class BadQop(GssError):
    major = GSS_S_BAD_QOP


class KerberosErrorToken(GssError):
    """The peer answered with a KRB-ERROR token (TOK_ID 03 00, RFC 4121 4.1)."""

    major = GSS_S_FAILURE


class SequenceError(GssError):
    """A per-message token verified but is out of sequence (RFC 4121 4.2.3, RFC 2743 1.2.3).

    `payload` holds the authentic data (the message for VerifyMIC, the plaintext for Unwrap)
    so that a caller that tolerates reordering can still use it.
    """

    def __init__(
        self, message: str, *, payload: bytes = b"", krb_error: int | None = None
    ) -> None:
        super().__init__(message, krb_error=krb_error)
        self.payload = payload


class DuplicateToken(SequenceError):
    major = GSS_S_DUPLICATE_TOKEN


class OldToken(SequenceError):
    major = GSS_S_OLD_TOKEN


class UnseqToken(SequenceError):
    major = GSS_S_UNSEQ_TOKEN


class GapToken(SequenceError):
    major = GSS_S_GAP_TOKEN
