"""Helpers for the IAKerb tests: an in-memory realm (tests/kdc/memory_realm.py), a key
lookup for its service, and a synchronous driver that carries tokens between an
initiator and an acceptor and resolves the acceptor's ForwardToKdc effects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kdc.memory_realm import ALICE_PASSWORD, REALM, SERVICE, T0, Realm, make_realm
from kerbfirst.crypto import Key
from kerbfirst.gss.iakerb import (
    ForwardToKdc,
    IakerbAcceptor,
    IakerbAuditEvent,
    IakerbInitiator,
    KdcFailure,
)
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.wire.constants import KRB_AP_ERR_IAKERB_KDC_NOT_FOUND

__all__ = ["ALICE_PASSWORD", "REALM", "SERVICE", "T0", "Realm", "make_realm"]

KdcResolver = Callable[[str, bytes], bytes | KdcFailure]


def key_lookup(realm: Realm) -> Callable[[str, int | None, int], Key | None]:
    def lookup(principal: str, kvno: int | None, etype: int) -> Key | None:
        entry = realm.db.entries.get(principal)
        if entry is None:
            return None
        for k in entry.keys:
            if k.etype == etype and (kvno is None or k.kvno == kvno):
                return Key(etype, k.contents)
        return None

    return lookup


def acceptor_for(realm: Realm, *, cache: ReplayCache | None = None,
                 events: list[IakerbAuditEvent] | None = None, **kw: object) -> IakerbAcceptor:
    cache = cache if cache is not None else ReplayCache()  # an empty cache is falsy
    return IakerbAcceptor(key_lookup=key_lookup(realm), replay_cache=cache,
                          random=realm.random, realm=REALM, peer="127.0.0.1:4242",
                          audit=events.append if events is not None else None,
                          **kw)  # type: ignore[arg-type]


def realm_resolver(realm: Realm, now: datetime = T0) -> KdcResolver:
    def resolve(target: str, message: bytes) -> bytes | KdcFailure:
        if target != REALM:
            return KdcFailure(KRB_AP_ERR_IAKERB_KDC_NOT_FOUND, f"realm {target} not configured")
        reply = realm.kdc.handle(message, peer="iakerb", transport="iakerb", now=now)
        if reply is None:
            raise AssertionError("the KDC dropped a tunnelled request")
        return reply

    return resolve


def converse(initiator: IakerbInitiator, acceptor: IakerbAcceptor, resolve: KdcResolver,
             now: datetime = T0, *, tamper: Callable[[int, bytes], bytes] | None = None,
             ) -> list[bytes]:
    """Run the whole conversation; returns every token that crossed, in order.
    `tamper(i, token)` may alter the i-th initiator->acceptor token in flight."""
    crossed: list[bytes] = []
    out = initiator.step(None, now=now)
    i = 0
    while out is not None:
        if not isinstance(out, bytes):
            raise AssertionError(f"initiator returned {out!r}")
        if tamper is not None:
            out = tamper(i, out)
        i += 1
        crossed.append(out)
        reply = acceptor.step(out, now=now)
        while isinstance(reply, ForwardToKdc):
            reply = acceptor.kdc_reply(resolve(reply.realm, reply.message), now=now,
                                       kdc="in-process")
        if reply is None:
            break
        crossed.append(reply)
        out = initiator.step(reply, now=now)
    return crossed
