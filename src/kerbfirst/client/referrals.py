"""A service ticket across realms, sans I/O: the TGS exchanges from the client's TGT to
the service's realm (RFC 4120 1.2, RFC 6806 section 8, as MIT's get_creds.c).

Each step says which realm's KDC gets the request; the caller finds that realm's KDCs
(krb5.conf [realms]) and hands back the reply.

- A service named without a realm ("host/server.example"): asked of our KDC with
  canonicalize; a KDC that knows the host is elsewhere answers with a referral, a TGT
  krbtgt/NEXT@ITS_REALM, and the request is repeated at NEXT's KDC.
- A service named with its realm ("host/server@OTHER"): first krbtgt/OTHER from our KDC
  (which may hand out the next realm on its path instead), then the service from OTHER's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kerbfirst.client.credential import Credential
from kerbfirst.client.errors import ReplyError
from kerbfirst.client.tgs_exchange import TgsExchange
from kerbfirst.crypto import SUPPORTED_ETYPES
from kerbfirst.krb.names import krbtgt_name, parse_name, tgs_realm
from kerbfirst.wire.constants import KDC_OPT_CANONICALIZE, NT_SRV_HST
from kerbfirst.wire.krb5 import PrincipalName

MAX_HOPS = 10  # MIT KRB5_REFERRAL_MAXHOPS: a referral loop ends here


class ServiceTicketChase:
    """Get a ticket for `service` with `tgt` (a TGT of the client's realm), following
    referrals. `credentials` holds every ticket obtained, cross-realm TGTs included
    (MIT caches them too)."""

    def __init__(
        self,
        tgt: Credential,
        service: str,
        *,
        random: Callable[[int], bytes],
        options: int = 0,
        etypes: tuple[int, ...] = SUPPORTED_ETYPES,
    ) -> None:
        parsed = parse_name(service, referral_realm=True)
        components = parsed.components
        # A two-part name without a realm is host-based (RFC 4120 6.2 NT-SRV-HST): the type
        # a KDC's referral logic looks for.
        name_type = NT_SRV_HST if not parsed.realm and len(components) == 2 else (
            parsed.name_type
        )
        self.service = PrincipalName(name_type, components)
        self.target_realm: str | None = parsed.realm or None
        self.tgt = tgt
        self.credentials: list[Credential] = []
        self._random = random
        self._options = options
        self._etypes = etypes
        self._visited: list[str] = []
        self._exchange: TgsExchange | None = None
        self._asked_tgt_for: str | None = None

    @property
    def kdc_realm(self) -> str:
        """The realm whose KDC the current TGT is for (krbtgt/X@Y goes to X's KDC)."""
        return tgs_realm(self.tgt.server) or self.tgt.srealm

    def first_request(self, now: datetime) -> tuple[str, bytes]:
        return self._request(now)

    def _request(self, now: datetime) -> tuple[str, bytes]:
        kdc = self.kdc_realm
        if kdc in self._visited or len(self._visited) >= MAX_HOPS:
            raise ReplyError(
                f"referral loop: realms {' -> '.join([*self._visited, kdc])}; check the "
                "KDCs' [capaths] and [domain_realm]"
            )
        self._visited.append(kdc)
        if self.target_realm is not None and kdc != self.target_realm:
            server, self._asked_tgt_for = krbtgt_name(self.target_realm), self.target_realm
        else:
            server, self._asked_tgt_for = self.service, None
        self._exchange = TgsExchange(
            self.tgt,
            server,
            random=self._random,
            options=self._options | KDC_OPT_CANONICALIZE,
            etypes=self._etypes,
            realm=kdc,
            referral_ok=True,
        )
        return kdc, self._exchange.first_request(now)

    def receive(self, reply: bytes, now: datetime) -> tuple[str, bytes] | Credential:
        """The next (realm, request) to send, or the service ticket."""
        if self._exchange is None:
            raise ReplyError("receive() before first_request()")
        cred = self._exchange.receive(reply, now)
        self._exchange = None
        self.credentials.append(cred)
        next_realm = tgs_realm(cred.server)
        if next_realm is None or next_realm == cred.srealm:
            return cred  # the service ticket (TgsExchange checked it names our service)
        if self._asked_tgt_for is None and cred.server.name_string == self.service.name_string:
            return cred  # the service asked for was this cross-realm TGT itself
        # The cross-realm TGT asked for, or a referral to the next realm on the path.
        self.tgt = cred
        return self._request(now)
