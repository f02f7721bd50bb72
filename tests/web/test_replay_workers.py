"""Worker processes of one service sharing a replay cache: an authenticator accepted by one
NegotiateServer is refused by another that shares the FileReplayCache (as MIT's rcache file
is shared by Apache's processes), and accepted again by one that keeps its own cache, which
is why NegotiateConfig.replay_cache exists. Tickets come from MIT kinit through our KDC."""

from __future__ import annotations

from pathlib import Path

from kerbfirst.net.iakerb_rcache import FileReplayCache
from kerbfirst.web.client_credentials import KerberosCredentials
from kerbfirst.web.client_flow import NegotiateFlow
from kerbfirst.web.negotiate import HttpRequestInfo, NegotiateServer
from web.conftest import WebRealm


def _request(header: str, port: int) -> HttpRequestInfo:
    return HttpRequestInfo(authorization=header, connection=("127.0.0.1", port),
                           client_address=f"127.0.0.1:{port}", host="localhost")


def test_workers_sharing_a_file_replay_cache_refuse_a_replay(web_realm: WebRealm,
                                                             tmp_path: Path) -> None:
    creds = KerberosCredentials.from_ccache(web_realm.ccache,
                                            kdcs=[f"127.0.0.1:{web_realm.port}"])
    header = NegotiateFlow(creds, "localhost").first()
    shared = tmp_path / "web.rcache"
    first = NegotiateServer.from_keytab(web_realm.keytab,
                                        replay_cache=FileReplayCache(shared, slots=4096))
    second = NegotiateServer.from_keytab(web_realm.keytab,
                                         replay_cache=FileReplayCache(shared, slots=4096))
    alone = NegotiateServer.from_keytab(web_realm.keytab)

    accepted = first.authenticate_sync(_request(header, 40001))
    assert accepted.status == 200, accepted.reason
    replayed = second.authenticate_sync(_request(header, 40002))
    assert replayed.status == 401, "a worker sharing the cache accepted a replay"
    assert "replay" in replayed.reason
    # The per-process default does not see the other workers' authenticators.
    assert alone.authenticate_sync(_request(header, 40003)).status == 200
