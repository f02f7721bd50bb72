"""Files written by MIT itself (a real krb5kdc, kinit, kvno, kadmin.local ktadd)."""

from __future__ import annotations

import pathlib
from datetime import UTC, datetime

from tests.store.mit_realm import REALM, mit_realm

from kerbfirst.store.ccache import encode_ccache, read_ccache
from kerbfirst.store.keytab import read_keytab
from kerbfirst.store.masterkey import create_master_key
from kerbfirst.store.principals import SqlitePrincipalStore
from kerbfirst.wire.constants import TKT_FLG_INITIAL


def test_mit_ccache_and_keytab(tmp_path: pathlib.Path) -> None:
    with mit_realm(tmp_path) as realm:
        realm.run(["kadmin.local", "-q", "addprinc -pw user-pw alice"])
        realm.run(["kadmin.local", "-q", "addprinc -randkey host/srv.mit.test"])
        realm.run(["kinit", "alice"], stdin="user-pw\n")
        realm.run(["kvno", "host/srv.mit.test"])
        realm.run(["kadmin.local", "-q", f"ktadd -norandkey -k {tmp_path}/alice.kt alice"])
        realm.run(["kadmin.local", "-q", f"ktadd -k {tmp_path}/host.kt host/srv.mit.test"])
        shown = realm.run(["klist", "-e", "-f"])

    data = (tmp_path / "ccache").read_bytes()
    cache = read_ccache(tmp_path / "ccache")
    assert encode_ccache(cache) == data  # byte-exact, including MIT's config entries
    assert cache.primary_principal.unparse() == f"alice@{REALM}"
    tickets = [c for c in cache.credentials if not c.is_config]
    assert [c.server.unparse() for c in tickets] == [
        f"krbtgt/{REALM}@{REALM}", f"host/srv.mit.test@{REALM}"
    ]
    tgt = tickets[0]
    assert tgt.ticket_flags & TKT_FLG_INITIAL
    assert tgt.ticket[0] == 0x61  # DER [APPLICATION 1] Ticket
    assert tgt.key.keytype == 18 and len(tgt.key.keyvalue) == 32
    assert tgt.endtime.strftime("%m/%d/%y %H:%M:%S") in shown

    # The KDC's keys for alice's password equal ours for the same password and default salt.
    mit_keys = {(e.kvno, e.etype): e.key for e in read_keytab(tmp_path / "alice.kt")}
    assert mit_keys
    store = SqlitePrincipalStore(
        tmp_path / "ours.db", create_master_key(tmp_path / "mk"), realm=REALM
    )
    store.add_principal("alice", password="user-pw", etypes=[e for _, e in mit_keys],
                        now=datetime.now(UTC))
    entry = store.get_principal(f"alice@{REALM}")
    assert entry is not None
    assert {(k.kvno, k.etype): k.contents for k in entry.keys} == mit_keys
    host = read_keytab(tmp_path / "host.kt")
    assert {e.kvno for e in host} == {2}  # ktadd without -norandkey made a new kvno
    assert all(e.principal.components == ("host", "srv.mit.test") for e in host)
