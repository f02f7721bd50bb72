"""IAKerb across the trust: a branch client of LOCAL.TEST that reaches no KDC gets a
ticket for a service of MIT.TEST, every KDC message tunnelled through the acceptor to the
KDC of the realm the initiator names (LOCAL.TEST's kerbfirst KDC, then MIT's krb5kdc)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crossrealm.conftest import ALICE_PW, LOCAL, MIT, MIT_SERVICE, Realms
from iakerb.iakerb_env import converse
from kerbfirst.gss.iakerb import IakerbAcceptor, IakerbAuditEvent, IakerbInitiator, KdcFailure
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.net.kdc_address import parse_kdc_address
from kerbfirst.net.kdc_transport import send_to_kdc_sync
from kerbfirst.store.keytab import keytab_key_lookup
from kerbfirst.wire.constants import KRB_AP_ERR_IAKERB_KDC_NOT_FOUND

pytestmark = pytest.mark.peer


@pytest.mark.parametrize("service", [f"{MIT_SERVICE}@{MIT}", MIT_SERVICE])
def test_iakerb_initiator_follows_the_trust(realms: Realms, tmp_path: Path, service: str) -> None:
    keytab = tmp_path / "mit.keytab"
    realms.mit.extract_keytab(f"{MIT_SERVICE}@{MIT}", str(keytab))
    kdcs = {LOCAL: f"127.0.0.1:{realms.local.port}", MIT: realms.mit.kdc_address}
    asked: list[str] = []

    def resolve(realm: str, message: bytes) -> bytes | KdcFailure:
        asked.append(realm)
        if realm not in kdcs:
            return KdcFailure(KRB_AP_ERR_IAKERB_KDC_NOT_FOUND, f"realm {realm} not configured")
        return send_to_kdc_sync(message, [parse_kdc_address(kdcs[realm])], timeout=5)

    now = datetime.now(UTC)
    events: list[IakerbAuditEvent] = []
    ini = IakerbInitiator(service=service, client=f"alice@{LOCAL}", password=ALICE_PW,
                          random=os.urandom)
    acc = IakerbAcceptor(key_lookup=keytab_key_lookup(keytab), replay_cache=ReplayCache(),
                         random=os.urandom, realm=MIT, audit=events.append)
    converse(ini, acc, resolve, now)
    assert ini.complete and acc.complete
    # AS (twice: pre-auth), TGS at LOCAL (krbtgt/MIT.TEST or the referral), TGS at MIT
    assert asked == [LOCAL, LOCAL, LOCAL, MIT], asked
    cred = ini.service_credential
    assert cred is not None and cred.server_principal == f"{MIT_SERVICE}@{MIT}"
    ctx_i, ctx_a = ini.context, acc.context
    assert ctx_i is not None and ctx_a is not None
    assert ctx_a.unwrap(ctx_i.wrap(b"across the trust"), now=now).data == b"across the trust"
    assert events and events[-1].client == f"alice@{LOCAL}"
