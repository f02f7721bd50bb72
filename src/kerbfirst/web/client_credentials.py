"""Where an HTTP client's Kerberos credentials come from, with kerbfirst's own stack (no
system GSSAPI): a password, a keytab or an MIT ccache (read, and written back with the
service tickets got), and the GSS initiator for one request.

For `HTTP/host` the initiator is, in order: a service ticket already in the ccache; a
ticket got now from a KDC of the realm (TGS with the cached TGT, or AS then TGS with the
password or key); and when no KDC answers, IAKerb through the web server itself
(draft-ietf-kitten-iakerb), which carries the AS and TGS exchanges in 401 legs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kerbfirst.client import AsExchange, Credential, KerberosClientError, TgsExchange
from kerbfirst.crypto import Key
from kerbfirst.gss.checksum import ChannelBindings
from kerbfirst.gss.iakerb_initiator import IakerbInitiator
from kerbfirst.gss.krb5_initiator import Krb5Initiator
from kerbfirst.gss.mechanism import Krb5InitiatorMechanism, MechContext
from kerbfirst.gss.spnego_initiator import SpnegoInitiator
from kerbfirst.krb.names import Principal, parse_name
from kerbfirst.net.kdc_address import parse_kdc_address
from kerbfirst.net.kdc_transport import KdcUnreachable, send_to_kdc_sync
from kerbfirst.store.ccache import CcacheCredential, read_ccache, write_ccache
from kerbfirst.store.keytab import read_keytab
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.krb5 import EncryptionKey, Ticket

PREFERRED_ETYPES = (18, 17, 20, 19)  # aes256-sha1, aes128-sha1, aes256-sha384, aes128-sha256


class CredentialError(Exception):
    """No way to authenticate: the message says what is missing."""


def _now() -> datetime:
    return datetime.now(UTC)


def to_credential(c: CcacheCredential) -> Credential:
    try:
        ticket = Ticket.decode(c.ticket)
    except DecodeError as exc:
        raise CredentialError(f"ticket for {c.server} in the ccache does not decode: "
                              f"{exc}") from None
    return Credential(
        client=c.client.wire(), crealm=c.client.realm, server=c.server.wire(),
        srealm=c.server.realm, session_key=Key(c.key.keytype, c.key.keyvalue), ticket=ticket,
        ticket_bytes=c.ticket, flags=c.ticket_flags, authtime=c.authtime,
        starttime=c.starttime, endtime=c.endtime, renew_till=c.renew_till)


def to_ccache(cred: Credential) -> CcacheCredential:
    return CcacheCredential(
        client=Principal(tuple(cred.client.name_string), cred.crealm, cred.client.name_type),
        server=Principal(tuple(cred.server.name_string), cred.srealm, cred.server.name_type),
        key=EncryptionKey(cred.session_key.etype, cred.session_key.contents),
        authtime=cred.authtime, starttime=cred.starttime, endtime=cred.endtime,
        renew_till=cred.renew_till, ticket=cred.ticket_bytes, ticket_flags=cred.flags)


@dataclass
class KerberosCredentials:
    """A client identity. Build with `from_password`, `from_keytab` or `from_ccache`."""

    principal: str | None = None
    password: str | None = None
    key: Key | None = None
    ccache: Path | None = None
    kdcs: Sequence[str] = ()  # KDC addresses of the client's realm; none: IAKerb only
    kdc_timeout: float = 2.0
    iakerb: bool = True  # authenticate through the server when no KDC answers

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets: dict[str, Credential] = {}
        self._tgt: Credential | None = None
        self.last_mechanism: str | None = None  # "kerberos" or "iakerb", for callers
        if self.ccache is not None:
            self._load_ccache(self.ccache)

    @classmethod
    def from_password(cls, principal: str, password: str, *, kdcs: Sequence[str] = (),
                      kdc_timeout: float = 2.0, iakerb: bool = True) -> KerberosCredentials:
        return cls(principal=principal, password=password, kdcs=kdcs,
                   kdc_timeout=kdc_timeout, iakerb=iakerb)

    @classmethod
    def from_keytab(cls, principal: str, keytab: str | os.PathLike[str], *,
                    kdcs: Sequence[str] = (), kdc_timeout: float = 2.0,
                    iakerb: bool = True) -> KerberosCredentials:
        name = parse_name(principal).unparse()
        entries = [e for e in read_keytab(keytab) if e.principal.unparse() == name]
        for etype in PREFERRED_ETYPES:
            found = [e for e in entries if e.etype == etype]
            if found:
                best = max(found, key=lambda e: e.kvno)
                return cls(principal=name, key=Key(etype, best.key), kdcs=kdcs,
                           kdc_timeout=kdc_timeout, iakerb=iakerb)
        raise CredentialError(f"keytab {os.fspath(keytab)!r} has no AES key for {name}")

    @classmethod
    def from_ccache(cls, path: str | os.PathLike[str] | None = None, *,
                    kdcs: Sequence[str] = (), kdc_timeout: float = 2.0,
                    iakerb: bool = True) -> KerberosCredentials:
        """An MIT ccache (FILE: only); default $KRB5CCNAME. New tickets are written back."""
        if path is None:
            env = os.environ.get("KRB5CCNAME", "")
            if not env:
                raise CredentialError("no ccache given and KRB5CCNAME is not set")
            if ":" in env and not env.startswith("FILE:"):
                raise CredentialError(f"ccache {env!r}: only FILE: caches can be read")
            path = env.removeprefix("FILE:")
        return cls(ccache=Path(path), kdcs=kdcs, kdc_timeout=kdc_timeout, iakerb=iakerb)

    def _load_ccache(self, path: Path) -> None:
        cache = read_ccache(path)
        self.principal = self.principal or cache.primary_principal.unparse()
        now = _now()
        for c in cache.credentials:
            if c.is_config or c.endtime <= now:
                continue
            cred = to_credential(c)
            if cred.server.name_string[:1] == ("krbtgt",):
                self._tgt = cred
            else:
                self._tickets[cred.server_principal] = cred

    @property
    def realm(self) -> str:
        if self._tgt is not None:
            return self._tgt.crealm
        if self.principal is None:
            raise CredentialError("no client principal")
        return parse_name(self.principal).realm

    # ------------------------------------------------------------------ initiators

    def initiator(self, spn: str, *, channel_bindings: ChannelBindings | None = None,
                  now: datetime | None = None) -> SpnegoInitiator:
        """The SPNEGO initiator for one authentication to `spn` ("HTTP/host")."""
        now = now or _now()
        service = spn if "@" in spn else f"{spn}@{self.realm}"
        with self._lock:
            cred = self._tickets.get(service)
            if cred is None or cred.endtime <= now:
                try:
                    cred = self._get_ticket(service, now)
                except KdcUnreachable as exc:
                    if not self.iakerb:
                        raise CredentialError(f"no KDC answered ({exc}) and IAKerb is off"
                                              ) from None
                    self.last_mechanism = "iakerb"
                    return SpnegoInitiator([self._iakerb(service, channel_bindings)])
        self.last_mechanism = "kerberos"
        krb5 = Krb5Initiator(ticket=cred.ticket, session_key=cred.session_key,
                             client=cred.client, client_realm=cred.crealm, now=now,
                             random=os.urandom, channel_bindings=channel_bindings,
                             ticket_endtime=cred.endtime)
        mechs: list[MechContext] = [Krb5InitiatorMechanism(krb5)]
        return SpnegoInitiator(mechs)

    def _get_ticket(self, service: str, now: datetime) -> Credential:
        if not self.kdcs:
            raise KdcUnreachable([])
        kdcs = [parse_kdc_address(k) for k in self.kdcs]

        def exchange(message: bytes) -> bytes:
            return send_to_kdc_sync(message, kdcs, timeout=self.kdc_timeout)

        try:
            if self._tgt is None or self._tgt.endtime <= now:
                self._tgt = self._as(exchange, now)
            tgs = TgsExchange(self._tgt, service, random=os.urandom)
            cred = tgs.receive(exchange(tgs.first_request(now)), now)
        except KerberosClientError as exc:
            raise CredentialError(f"could not get a ticket for {service}: {exc}") from None
        self._tickets[service] = cred
        self._save()
        return cred

    def _as(self, exchange: Callable[[bytes], bytes], now: datetime) -> Credential:
        if self.principal is None or (self.password is None and self.key is None):
            raise CredentialError("the ccache has no valid TGT and no password or key was "
                                  "given: run kinit, or pass a password or keytab")
        parsed = parse_name(self.principal)
        if self.key is not None:  # a keytab key: ask for its enctype only
            as_ex = AsExchange(parsed.unparse(), parsed.realm, random=os.urandom,
                               key=self.key, etypes=(self.key.etype,))
        else:
            as_ex = AsExchange(parsed.unparse(), parsed.realm, random=os.urandom,
                               password=self.password)
        message: bytes | Credential = as_ex.first_request(now)
        while isinstance(message, bytes):
            message = as_ex.receive(exchange(message), now)
        return message

    def _iakerb(self, service: str, cb: ChannelBindings | None) -> IakerbInitiator:
        if self._tgt is not None and self._tgt.endtime > _now():
            return IakerbInitiator(service=service, random=os.urandom, tgt=self._tgt,
                                   channel_bindings=cb)
        if self.principal is None or (self.password is None and self.key is None):
            raise CredentialError("no KDC answered and there is no TGT, password or key "
                                  "to run IAKerb with")
        return IakerbInitiator(service=service, random=os.urandom, client=self.principal,
                               password=self.password, key=self.key, channel_bindings=cb,
                               lifetime=timedelta(hours=10))

    def remember(self, initiator: SpnegoInitiator) -> None:
        """Keep the TGT and service ticket an IAKerb conversation obtained."""
        mech = initiator.mech
        if not isinstance(mech, IakerbInitiator):
            return
        with self._lock:
            if mech.tgt is not None:
                self._tgt = mech.tgt
            if mech.service_credential is not None:
                self._tickets[mech.service_credential.server_principal] = (
                    mech.service_credential)
            self._save()

    def _save(self) -> None:
        if self.ccache is None or self._tgt is None:
            return
        primary = Principal(tuple(self._tgt.client.name_string), self._tgt.crealm,
                            self._tgt.client.name_type)
        creds = [to_ccache(self._tgt), *(to_ccache(c) for c in self._tickets.values())]
        write_ccache(self.ccache, primary, creds)


__all__ = ["CredentialError", "KerberosCredentials", "to_ccache", "to_credential"]
