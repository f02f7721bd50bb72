"""Kerberos protocol numbers (RFC 4120 section 7.5, RFC 6113, MS-KILE).

These are plain ints, not enums: parsers keep values they do not know (RFC 4120 1.5 lets
new ones appear), and an enum would refuse them.
Flag constants are the big-endian value of the first 32 bits of the KerberosFlags BIT
STRING, so bit 0 (RFC numbering) is 0x80000000, as MIT krb5 writes them.

Every name is `Final`: the mypyc-compiled build (scripts/build_compiled.py) then inlines the
values into the compiled modules that read them (`c.X` or `from ... import X`) instead of
looking them up in this module's dict at each use.
"""

from typing import Final

PVNO: Final = 5

# Message types, RFC 4120 section 7.5.7 (also the APPLICATION tag numbers)
KRB_AS_REQ: Final = 10
KRB_AS_REP: Final = 11
KRB_TGS_REQ: Final = 12
KRB_TGS_REP: Final = 13
KRB_AP_REQ: Final = 14
KRB_AP_REP: Final = 15
KRB_SAFE: Final = 20
KRB_PRIV: Final = 21
KRB_CRED: Final = 22
KRB_ERROR: Final = 30

# APPLICATION tags of the other types, RFC 4120 section 5
APP_TICKET: Final = 1
APP_AUTHENTICATOR: Final = 2
APP_ENC_TICKET_PART: Final = 3
APP_ENC_AS_REP_PART: Final = 25
APP_ENC_TGS_REP_PART: Final = 26
APP_ENC_AP_REP_PART: Final = 27
APP_ENC_KRB_PRIV_PART: Final = 28
APP_ENC_KRB_CRED_PART: Final = 29


def _bit(n: int) -> int:
    return 1 << (31 - n)


# KDCOptions, RFC 4120 section 5.4.1
KDC_OPT_FORWARDABLE: Final = _bit(1)
KDC_OPT_FORWARDED: Final = _bit(2)
KDC_OPT_PROXIABLE: Final = _bit(3)
KDC_OPT_PROXY: Final = _bit(4)
KDC_OPT_ALLOW_POSTDATE: Final = _bit(5)
KDC_OPT_POSTDATED: Final = _bit(6)
KDC_OPT_RENEWABLE: Final = _bit(8)
KDC_OPT_CANONICALIZE: Final = _bit(15)
KDC_OPT_DISABLE_TRANSITED_CHECK: Final = _bit(26)
KDC_OPT_RENEWABLE_OK: Final = _bit(27)
KDC_OPT_ENC_TKT_IN_SKEY: Final = _bit(28)
KDC_OPT_RENEW: Final = _bit(30)
KDC_OPT_VALIDATE: Final = _bit(31)

# TicketFlags, RFC 4120 section 5.3
TKT_FLG_FORWARDABLE: Final = _bit(1)
TKT_FLG_FORWARDED: Final = _bit(2)
TKT_FLG_PROXIABLE: Final = _bit(3)
TKT_FLG_PROXY: Final = _bit(4)
TKT_FLG_MAY_POSTDATE: Final = _bit(5)
TKT_FLG_POSTDATED: Final = _bit(6)
TKT_FLG_INVALID: Final = _bit(7)
TKT_FLG_RENEWABLE: Final = _bit(8)
TKT_FLG_INITIAL: Final = _bit(9)
TKT_FLG_PRE_AUTH: Final = _bit(10)
TKT_FLG_HW_AUTH: Final = _bit(11)
TKT_FLG_TRANSIT_POLICY_CHECKED: Final = _bit(12)
TKT_FLG_OK_AS_DELEGATE: Final = _bit(13)
TKT_FLG_ENC_PA_REP: Final = _bit(15)  # RFC 6806 section 11
TKT_FLG_ANONYMOUS: Final = _bit(16)

# APOptions, RFC 4120 section 5.5.1
AP_OPT_USE_SESSION_KEY: Final = _bit(1)
AP_OPT_MUTUAL_REQUIRED: Final = _bit(2)

# Principal name types, RFC 4120 section 6.2
NT_UNKNOWN: Final = 0
NT_PRINCIPAL: Final = 1
NT_SRV_INST: Final = 2
NT_SRV_HST: Final = 3
NT_SRV_XHST: Final = 4
NT_UID: Final = 5
NT_X500_PRINCIPAL: Final = 6
NT_SMTP_NAME: Final = 7
NT_ENTERPRISE: Final = 10
NT_WELLKNOWN: Final = 11

# Pre-authentication data types, RFC 4120 section 7.5.2, RFC 6113, MS-KILE
PA_TGS_REQ: Final = 1
PA_ENC_TIMESTAMP: Final = 2
PA_PW_SALT: Final = 3
PA_ETYPE_INFO: Final = 11
PA_ETYPE_INFO2: Final = 19
PA_PAC_REQUEST: Final = 128  # MS-KILE 2.2.3, accepted and ignored (no PAC here)
PA_FX_FAST: Final = 136
PA_FX_ERROR: Final = 137
PA_ENC_PA_REP: Final = 149
PA_REQ_ENC_PA_REP: Final = 149

# Address types, RFC 4120 section 7.5.3
ADDRTYPE_INET: Final = 2
ADDRTYPE_INET6: Final = 24

# Transited encodings, RFC 4120 section 5.3
DOMAIN_X500_COMPRESS: Final = 1

# Authorization data types
AD_IF_RELEVANT: Final = 1

# Last-request types
LR_NONE: Final = 0

# Error codes, RFC 4120 section 7.5.9 (and the IAKerb proxy errors, draft-ietf-kitten-iakerb)
KDC_ERR_NONE: Final = 0
KDC_ERR_NAME_EXP: Final = 1
KDC_ERR_SERVICE_EXP: Final = 2
KDC_ERR_BAD_PVNO: Final = 3
KDC_ERR_C_OLD_MAST_KVNO: Final = 4
KDC_ERR_S_OLD_MAST_KVNO: Final = 5
KDC_ERR_C_PRINCIPAL_UNKNOWN: Final = 6
KDC_ERR_S_PRINCIPAL_UNKNOWN: Final = 7
KDC_ERR_PRINCIPAL_NOT_UNIQUE: Final = 8
KDC_ERR_NULL_KEY: Final = 9
KDC_ERR_CANNOT_POSTDATE: Final = 10
KDC_ERR_NEVER_VALID: Final = 11
KDC_ERR_POLICY: Final = 12
KDC_ERR_BADOPTION: Final = 13
KDC_ERR_ETYPE_NOSUPP: Final = 14
KDC_ERR_SUMTYPE_NOSUPP: Final = 15
KDC_ERR_PADATA_TYPE_NOSUPP: Final = 16
KDC_ERR_TRTYPE_NOSUPP: Final = 17
KDC_ERR_CLIENT_REVOKED: Final = 18
KDC_ERR_SERVICE_REVOKED: Final = 19
KDC_ERR_TGT_REVOKED: Final = 20
KDC_ERR_CLIENT_NOTYET: Final = 21
KDC_ERR_SERVICE_NOTYET: Final = 22
KDC_ERR_KEY_EXPIRED: Final = 23
KDC_ERR_PREAUTH_FAILED: Final = 24
KDC_ERR_PREAUTH_REQUIRED: Final = 25
KDC_ERR_SERVER_NOMATCH: Final = 26
KDC_ERR_MUST_USE_USER2USER: Final = 27
KDC_ERR_PATH_NOT_ACCEPTED: Final = 28
KDC_ERR_SVC_UNAVAILABLE: Final = 29
KRB_AP_ERR_BAD_INTEGRITY: Final = 31
KRB_AP_ERR_TKT_EXPIRED: Final = 32
KRB_AP_ERR_TKT_NYV: Final = 33
KRB_AP_ERR_REPEAT: Final = 34
KRB_AP_ERR_NOT_US: Final = 35
KRB_AP_ERR_BADMATCH: Final = 36
KRB_AP_ERR_SKEW: Final = 37
KRB_AP_ERR_BADADDR: Final = 38
KRB_AP_ERR_BADVERSION: Final = 39
KRB_AP_ERR_MSG_TYPE: Final = 40
KRB_AP_ERR_MODIFIED: Final = 41
KRB_AP_ERR_BADORDER: Final = 42
KRB_AP_ERR_BADKEYVER: Final = 44
KRB_AP_ERR_NOKEY: Final = 45
KRB_AP_ERR_MUT_FAIL: Final = 46
KRB_AP_ERR_BADDIRECTION: Final = 47
KRB_AP_ERR_METHOD: Final = 48
KRB_AP_ERR_BADSEQ: Final = 49
KRB_AP_ERR_INAPP_CKSUM: Final = 50
KRB_AP_PATH_NOT_ACCEPTED: Final = 51
KRB_ERR_RESPONSE_TOO_BIG: Final = 52
KRB_ERR_GENERIC: Final = 60
KRB_ERR_FIELD_TOOLONG: Final = 61
KDC_ERR_CLIENT_NOT_TRUSTED: Final = 62
KDC_ERR_WRONG_REALM: Final = 68
KDC_ERR_PREAUTH_EXPIRED: Final = 90
KDC_ERR_MORE_PREAUTH_DATA_REQUIRED: Final = 91
KRB_AP_ERR_IAKERB_KDC_NOT_FOUND: Final = 85
KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE: Final = 86

# Key usage numbers, RFC 4120 section 7.5.1, RFC 4121 section 2, IAKerb
KU_PA_ENC_TIMESTAMP: Final = 1
KU_KDC_REP_TICKET: Final = 2
KU_AS_REP_ENC_PART: Final = 3
KU_TGS_REQ_AD_SESSKEY: Final = 4
KU_TGS_REQ_AD_SUBKEY: Final = 5
KU_TGS_REQ_AUTH_CKSUM: Final = 6
KU_TGS_REQ_AUTH: Final = 7
KU_TGS_REP_ENC_PART_SESSKEY: Final = 8
KU_TGS_REP_ENC_PART_SUBKEY: Final = 9
KU_AP_REQ_AUTH_CKSUM: Final = 10
KU_AP_REQ_AUTH: Final = 11
KU_AP_REP_ENC_PART: Final = 12
KU_GSS_ACCEPTOR_SEAL: Final = 22
KU_GSS_ACCEPTOR_SIGN: Final = 23
KU_GSS_INITIATOR_SEAL: Final = 24
KU_GSS_INITIATOR_SIGN: Final = 25
KU_IAKERB_FINISHED: Final = 41  # draft-ietf-kitten-iakerb-03
KU_IAKERB_FINISHED_MIT_OLD: Final = 42  # MIT krb5 <= 1.21

# Encryption types (the only four kerbfirst implements) and their checksum types
ETYPE_AES128_CTS_HMAC_SHA1_96: Final = 17
ETYPE_AES256_CTS_HMAC_SHA1_96: Final = 18
ETYPE_AES128_CTS_HMAC_SHA256_128: Final = 19
ETYPE_AES256_CTS_HMAC_SHA384_192: Final = 20
ETYPE_RC4_HMAC: Final = 23  # named only so it can be refused by number
CKSUMTYPE_HMAC_SHA1_96_AES128: Final = 15
CKSUMTYPE_HMAC_SHA1_96_AES256: Final = 16
CKSUMTYPE_HMAC_SHA256_128_AES128: Final = 19
CKSUMTYPE_HMAC_SHA384_192_AES256: Final = 20
CKSUMTYPE_GSSAPI: Final = 0x8003  # RFC 4121 section 4.1.1
