"""The IAKerb acceptor's KDC side: executes the `ForwardToKdc` effects of
kerbfirst.gss.iakerb_acceptor (draft-ietf-kitten-iakerb-03 3).

Only realms in the configuration are served, each by exactly the KDCs configured for it:
a list of addresses (UDP then TCP on RESPONSE_TOO_BIG, TCP, or a UNIX socket, via
kdc_transport.send_to_kdc), or an in-process KDC object (the Windows model: a LocalKDC
reached only through IAKerb). Nothing in a token chooses where a message goes beyond the
realm name, so the proxy cannot be pointed at arbitrary hosts (kdcproxy CVE-2025-59088);
requests and replies are size-capped before they are buffered or relayed (CVE-2025-59089),
and every KDC call has a timeout. An in-process KDC runs on a thread of its own
(net/kdc_handler_thread.py), never on the event loop: its principal database may block
(an SQLite lock held by another process), and that must stall only the requests queued
for that KDC, not the other connections (realm discovery, other realms, AP-REQs).
Failures become KRB-ERROR 85 (realm not configured) or
86 (no KDC answered) for the initiator.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from kerbfirst.gss.mechanism import ForwardToKdc, KdcFailure, ProxyingAcceptor, StepResult
from kerbfirst.net.kdc_address import KdcAddress, parse_kdc_address
from kerbfirst.net.kdc_handler_thread import HandlerThread
from kerbfirst.net.kdc_server_config import KdcRequestHandler
from kerbfirst.net.kdc_transport import KdcUnreachable, send_to_kdc
from kerbfirst.wire.constants import (
    KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE,
    KRB_AP_ERR_IAKERB_KDC_NOT_FOUND,
)

log = logging.getLogger(__name__)

DEFAULT_KDC_TIMEOUT = 3.0  # seconds per KDC call, all retries included
MAX_FORWARDS = 64  # effects resolved per acceptor step; the acceptor caps hops itself


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class RealmRoute:
    """How one realm's KDC is reached: addresses, or an in-process KDC."""

    kdcs: tuple[KdcAddress, ...] = ()
    local_kdc: KdcRequestHandler | None = None

    def __post_init__(self) -> None:
        if bool(self.kdcs) == (self.local_kdc is not None):
            raise ValueError("a realm route needs KDC addresses or an in-process KDC, not both")

    def describe(self) -> str:
        return "in-process" if self.local_kdc is not None else ", ".join(map(str, self.kdcs))


RouteSpec = RealmRoute | KdcRequestHandler | Sequence[KdcAddress | str]


def _route(spec: RouteSpec) -> RealmRoute:
    if isinstance(spec, RealmRoute):
        return spec
    if isinstance(spec, str):
        raise TypeError("give a realm's KDC addresses as a list, e.g. ['tcp/10.0.0.1:88']")
    if isinstance(spec, Sequence):
        return RealmRoute(kdcs=tuple(a if isinstance(a, KdcAddress) else parse_kdc_address(a)
                                     for a in spec))
    return RealmRoute(local_kdc=spec)


class KdcForwarder:
    """Resolves ForwardToKdc effects for the realms it is configured for."""

    def __init__(self, realms: Mapping[str, RouteSpec], *,
                 timeout: float = DEFAULT_KDC_TIMEOUT, max_message: int = 64 * 1024,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        if not timeout > 0:
            raise ValueError("the KDC timeout must be positive")
        # Realm names are case-sensitive (RFC 4120 6.1): no folding, no wildcards.
        self.routes = {realm: _route(spec) for realm, spec in realms.items()}
        self.timeout = timeout
        self.max_message = max_message
        self._clock = clock
        self._threads: dict[int, HandlerThread] = {}  # id(route) -> its KDC's thread

    def _thread_for(self, route: RealmRoute) -> HandlerThread:
        thread = self._threads.get(id(route))
        if thread is None:
            thread = HandlerThread(asyncio.get_running_loop())
            self._threads[id(route)] = thread
        return thread

    def close(self) -> None:
        """Let the in-process KDCs' threads exit (once their queued requests are done)."""
        for thread in self._threads.values():
            thread.stop()
        self._threads.clear()

    async def forward(self, effect: ForwardToKdc, *, peer: str = "") -> tuple[
            bytes | KdcFailure, str]:
        """(the KDC's reply or a failure, a description of the KDC used)."""
        route = self.routes.get(effect.realm)
        if route is None:
            return KdcFailure(KRB_AP_ERR_IAKERB_KDC_NOT_FOUND,
                              f"realm {effect.realm!r} is not configured on this IAKerb "
                              "acceptor"), ""
        if not 0 < len(effect.message) <= self.max_message:
            return KdcFailure(KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE,
                              f"KDC request of {len(effect.message)} bytes not forwarded"), ""
        where = route.describe()
        try:
            async with asyncio.timeout(self.timeout):
                if route.local_kdc is not None:
                    kdc, message, now = route.local_kdc, effect.message, self._clock()
                    reply = await self._thread_for(route).call(
                        lambda: kdc.handle(message, peer=peer or "iakerb",
                                           transport="iakerb", now=now))
                else:
                    reply = await send_to_kdc(effect.message, route.kdcs, timeout=self.timeout,
                                              max_reply=self.max_message)
        except (KdcUnreachable, TimeoutError, OSError, ValueError) as exc:
            log.warning("IAKerb: no KDC of %s answered (%s): %s", effect.realm, where,
                        type(exc).__name__)
            return KdcFailure(KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE,
                              f"no KDC of realm {effect.realm} answered within "
                              f"{self.timeout} s"), where
        if reply is None:
            return KdcFailure(KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE,
                              f"the KDC of {effect.realm} dropped the request"), where
        if len(reply) > self.max_message:
            return KdcFailure(KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE,
                              f"the KDC reply of {len(reply)} bytes exceeds "
                              f"{self.max_message}"), where
        return reply, where

    async def resolve(self, acceptor: ProxyingAcceptor, result: StepResult, *,
                      peer: str = "") -> bytes | None:
        """Run `result` (an acceptor's step output) to the token for the initiator."""
        for _ in range(MAX_FORWARDS):
            if not isinstance(result, ForwardToKdc):
                return result
            reply, where = await self.forward(result, peer=peer)
            result = acceptor.kdc_reply(reply, now=self._clock(), kdc=where)
        raise RuntimeError(f"more than {MAX_FORWARDS} KDC forwards for one token")
