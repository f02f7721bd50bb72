"""A sans-I/O Kerberos client: AS and TGS exchanges as objects that take and return bytes.

They drive kerbfirst's kinit and IAKerb (which tunnels exactly these messages), so they
know nothing of transports; every message is recorded as sent (`messages`).
"""

from kerbfirst.client.as_exchange import AsExchange
from kerbfirst.client.credential import Credential
from kerbfirst.client.errors import ERROR_NAMES, KerberosClientError, KerberosError, ReplyError
from kerbfirst.client.referrals import ServiceTicketChase
from kerbfirst.client.tgs_exchange import TgsExchange
from kerbfirst.krb.names import parse_principal, unparse_principal

__all__ = [
    "ERROR_NAMES",
    "AsExchange",
    "Credential",
    "KerberosClientError",
    "KerberosError",
    "ReplyError",
    "ServiceTicketChase",
    "TgsExchange",
    "parse_principal",
    "unparse_principal",
]
