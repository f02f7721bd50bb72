"""Cross-realm trust as the KDC applies it: where a referral goes, and which transited
realms are permitted (RFC 4120 3.3.3.2, RFC 6806 section 8, MIT krb5.conf(5) [capaths]
and [domain_realm]).

A trust is a shared key (MIT naming): tickets from realm A to realm B are encrypted in
krbtgt/B@A, held by both KDCs. This module only decides names and paths; the keys are
in the principal database and the TGS exchange (tgs_exchange.py) uses them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from kerbfirst.krb.names import TGS_NAME
from kerbfirst.wire.constants import DOMAIN_X500_COMPRESS, NT_SRV_HST, NT_SRV_INST, NT_UNKNOWN
from kerbfirst.wire.krb5 import PrincipalName, TransitedEncoding

MAX_TRANSITED_BYTES = 4096  # a realm path longer than this is refused, never parsed
MAX_TRANSITED_REALMS = 32


class TransitedError(ValueError):
    """The transited field is malformed or uses an encoding kerbfirst does not parse."""


@dataclasses.dataclass(frozen=True, slots=True)
class CrossRealmPolicy:
    """`domain_realm`: host name or ".domain" suffix -> realm, as krb5.conf [domain_realm]
    (an exact host entry wins, then the longest suffix). `capaths`: client realm ->
    server realm -> the intermediate realms in order (empty: direct trust), as krb5.conf
    [capaths]; a realm path not listed is direct trust only, and a transited realm not
    on the listed path is refused (kerbfirst does not assume MIT's hierarchical path)."""

    domain_realm: Mapping[str, str] = dataclasses.field(default_factory=dict)
    capaths: Mapping[str, Mapping[str, tuple[str, ...]]] = dataclasses.field(
        default_factory=dict
    )

    def host_realm(self, host: str) -> str | None:
        """The realm of a host name by [domain_realm] (MIT krb5_get_host_realm without DNS)."""
        host = host.lower().rstrip(".")
        exact = self.domain_realm.get(host)
        if exact is not None:
            return exact
        # MIT krb5_get_host_realm: the host itself, then each parent domain with a
        # leading dot (".mit.test" covers svc.mit.test, not the host mit.test).
        labels = host.split(".")
        for i in range(1, len(labels)):
            found = self.domain_realm.get("." + ".".join(labels[i:]))
            if found is not None:
                return found
        return None

    def path(self, client_realm: str, server_realm: str) -> tuple[str, ...]:
        """The intermediate realms from client_realm to server_realm ([capaths])."""
        return tuple(self.capaths.get(client_realm, {}).get(server_realm, ()))

    def next_hop(self, our_realm: str, target_realm: str) -> str:
        """The realm whose krbtgt we hand out to reach `target_realm` (RFC 6806 section 8:
        the next realm on the path, the target itself for direct trust)."""
        hops = self.path(our_realm, target_realm)
        return hops[0] if hops else target_realm

    def transit_refusal(
        self, client_realm: str, server_realm: str, transited: tuple[str, ...]
    ) -> str | None:
        """None when every transited realm is on the configured path from the client's realm
        to the server's (MIT krb5_check_transited_list), else the reason for refusing."""
        allowed = set(self.path(client_realm, server_realm))
        for realm in transited:
            if realm not in allowed:
                return (
                    f"the ticket transited realm {realm}, which is not on the permitted path "
                    f"from {client_realm} to {server_realm}; list it in [capaths] if it is "
                    "trusted"
                )
        return None


def referral_host(name: PrincipalName) -> str | None:
    """The host of a host-based service name a KDC may answer with a referral (RFC 6806
    section 8; MIT is_referral_req: two components, the second a dotted host name)."""
    parts = name.name_string
    if name.name_type not in (NT_SRV_HST, NT_SRV_INST, NT_UNKNOWN) or len(parts) != 2:
        return None
    host = parts[1]
    if "." not in host.strip(".") or parts[0] == TGS_NAME:
        return None
    return host


def decode_transited(tr: TransitedEncoding) -> tuple[str, ...]:
    """The realms of a DOMAIN-X500-COMPRESS transited field (RFC 4120 3.3.3.2): names
    separated by commas; a name ending in "." is completed by the previous name. X.500
    names and null subfields (realms implied by the hierarchy) are refused."""
    if not tr.contents:
        return ()
    if tr.tr_type != DOMAIN_X500_COMPRESS:
        raise TransitedError(f"transited encoding type {tr.tr_type} is not DOMAIN-X500-COMPRESS")
    if len(tr.contents) > MAX_TRANSITED_BYTES:
        raise TransitedError(f"transited field of {len(tr.contents)} bytes is too long")
    try:
        text = tr.contents.decode("utf-8")
    except UnicodeDecodeError:
        raise TransitedError("transited field is not UTF-8") from None
    fields: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            fields.append("".join(current))
            current = []
        else:
            current.append(ch)
    fields.append("".join(current))
    if len(fields) > MAX_TRANSITED_REALMS:
        raise TransitedError(f"transited field names more than {MAX_TRANSITED_REALMS} realms")
    realms: list[str] = []
    for field in fields:
        if not field:
            raise TransitedError("transited field has a null subfield (hierarchical path)")
        if field.startswith("/"):
            raise TransitedError(f"X.500 realm {field!r} in the transited field")
        if field.endswith("."):
            if not realms:
                raise TransitedError(f"transited realm {field!r} has no name to complete it")
            field += realms[-1]
        realms.append(field)
    return tuple(realms)


def encode_transited(realms: tuple[str, ...]) -> TransitedEncoding:
    """RFC 4120 3.3.3.2, uncompressed (compression is optional): realm names separated by
    commas, with "," and "\\" escaped."""
    text = ",".join(r.replace("\\", "\\\\").replace(",", "\\,") for r in realms)
    return TransitedEncoding(DOMAIN_X500_COMPRESS, text.encode("utf-8"))

