"""Whatever a client puts in Authorization, the Negotiate core answers (200, 401, 403, or
a KDC forward for IAKerb) and never raises: an exception would be a 500 from the ASGI
server and, with a WSGI server, a dropped connection. Real tokens (SPNEGO with a ticket
from our LocalKDC via MIT kinit's ccache; an IAKerb first token; NTLMSSP) mutated, and
random bytes, under Hypothesis; successive legs on one connection exercise the context
table."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerbfirst.gss.iakerb import IakerbInitiator, IakerbVariant
from kerbfirst.web.client_credentials import KerberosCredentials
from kerbfirst.web.client_flow import NegotiateFlow
from kerbfirst.web.negotiate import HttpRequestInfo, NegotiateResult, NegotiateServer, Pending
from mutations import mutated
from web.conftest import REALM, WebRealm

NTLM_NEGOTIATE = bytes.fromhex("4e544c4d5353500001000000978208e2"
                               "000000000000000000000000000000000a00f4650000000f")


@pytest.fixture(scope="module")
def real_tokens(web_realm: WebRealm) -> list[bytes]:
    creds = KerberosCredentials.from_ccache(web_realm.ccache,
                                            kdcs=[f"127.0.0.1:{web_realm.port}"])
    spnego = base64.b64decode(NegotiateFlow(creds, "localhost").first().split(" ", 1)[1])
    iakerb = IakerbInitiator(service="HTTP/localhost", client="alice", realm=REALM,
                             password="unused", random=lambda n: bytes(n),
                             variant=IakerbVariant.DRAFT03).step(None, now=datetime.now(UTC))
    assert isinstance(iakerb, bytes)
    return [spnego, iakerb, NTLM_NEGOTIATE]


@pytest.fixture(scope="module")
def server(web_realm: WebRealm) -> NegotiateServer:
    return NegotiateServer.from_keytab(web_realm.keytab, max_contexts=8,
                                       kdc_routes={REALM: [f"tcp/127.0.0.1:{web_realm.port}"]})


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_authorization_gets_an_answer(real_tokens: list[bytes], server: NegotiateServer,
                                          data: st.DataObject) -> None:
    port = data.draw(st.integers(1, 4))  # a few connections, so legs continue contexts
    for _ in range(data.draw(st.integers(1, 3))):
        if data.draw(st.booleans()):
            token = data.draw(mutated(real_tokens, min_edits=0, max_cut=32))
        else:
            token = data.draw(st.binary(max_size=400))
        scheme = data.draw(st.sampled_from(["Negotiate", "negotiate", "NTLM", "Kerberos", ""]))
        b64 = base64.b64encode(token).decode()
        if data.draw(st.integers(0, 9)) == 0:
            b64 = data.draw(st.text(max_size=60))
        req = HttpRequestInfo(authorization=f"{scheme} {b64}".strip(),
                              connection=("198.51.100.7", port),
                              client_address=f"198.51.100.7:{port}", host="localhost")
        result = server.begin(req, datetime.now(UTC))
        assert isinstance(result, NegotiateResult | Pending)
        if isinstance(result, NegotiateResult):
            assert result.status in (200, 401, 403), result
    assert server.contexts() <= 8
