"""The fuzz target's property, briefly, under Hypothesis: whatever bytes arrive, the
IAKerb acceptor answers or raises a GssError, nothing else (fuzz/iakerb_fuzz.py runs
the long version under atheris)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerbfirst.gss.errors import GssError
from kerbfirst.gss.iakerb import ForwardToKdc, IakerbAcceptor, IakerbInitiator, IakerbVariant
from kerbfirst.gss.replay import ReplayCache
from mutations import mutated

from .iakerb_env import (
    ALICE_PASSWORD,
    REALM,
    SERVICE,
    T0,
    converse,
    key_lookup,
    make_realm,
    realm_resolver,
)

_REALM = make_realm(seed=21)


def _conversation(variant: IakerbVariant) -> list[bytes]:
    ini = IakerbInitiator(service=SERVICE, client="alice", realm=REALM, password=ALICE_PASSWORD,
                          random=_REALM.random, variant=variant)
    acc = IakerbAcceptor(key_lookup=key_lookup(_REALM), replay_cache=ReplayCache(),
                         random=_REALM.random, realm=REALM)
    return converse(ini, acc, realm_resolver(_REALM))


_REAL = [t for v in IakerbVariant for t in _conversation(v)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tokens=st.lists(mutated(_REAL) | st.binary(max_size=300), min_size=1, max_size=4),
       kdc_replies=st.lists(st.binary(max_size=200), max_size=4))
def test_acceptor_only_raises_gss_errors(tokens: list[bytes], kdc_replies: list[bytes]) -> None:
    acc = IakerbAcceptor(key_lookup=key_lookup(_REALM), replay_cache=ReplayCache(),
                         random=os.urandom, realm=REALM, max_kdc_message=4096)
    replies = iter(kdc_replies)
    try:
        for token in tokens:
            out = acc.step(token, now=T0)
            if isinstance(out, ForwardToKdc):
                reply = next(replies, None)
                acc.kdc_reply(reply if reply is not None else
                              realm_resolver(_REALM)(REALM, out.message), now=T0)
    except GssError:
        pass
    acc.abandon(T0)
