"""A domain controller known by its FQDN from one export (its 4768s, e.g. EVTX/Winlogbeat
"Computer") and by its NetBIOS name in another (its 4776s, e.g. a SIEM CSV or NXLog set to
short names) is one host: its 4776s are NTLM pass-through, not a member server's local
SAM check (which sent them to cause local-account / remedy LocalKDC)."""

from __future__ import annotations

from pathlib import Path

from test_estate_causes import _rec, _store

from kerbfirst.audit.analytics import Analytics, duckdb_runner


def test_4776_of_a_dc_named_in_another_form_is_pass_through(tmp_path: Path) -> None:
    docs = [
        _rec(1, "DC01.corp.example.com", 4768, 0, TargetUserName="bob", Status="0x0"),
        _rec(2, "DC01", 4776, 1, TargetUserName="bob", Workstation="WKS02",
             PackageName="MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", Status="0x0"),
        _rec(3, "dc02", 4776, 2, TargetUserName="carol", Workstation="WKS03",
             PackageName="MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", Status="0x0"),
        _rec(4, "DC02.corp.example.com", 4769, 3, TargetUserName="carol", Status="0x0"),
        _rec(5, "APP07.corp.example.com", 4776, 4, TargetUserName="svc_local",
             Workstation="WKS04", PackageName="MICROSOFT_AUTHENTICATION_PACKAGE_V1_0",
             Status="0x0"),
    ]
    store = _store(tmp_path, docs)
    with store.connect() as con:
        rows = {r.account: r for r in Analytics(duckdb_runner(con)).failure_map()}
        cover = {c.host: c for c in Analytics(duckdb_runner(con)).coverage()}
    for user in ("bob", "carol"):
        assert rows[user].cause == "unknown", (user, rows[user])
        assert rows[user].server == "(UNKNOWN)"  # a pass-through names no server
    assert (rows["svc_local"].cause, rows["svc_local"].remedy) == ("local-account", "localkdc")
    assert cover["DC01"].is_dc and cover["DC02"].is_dc
    assert not cover["APP07.CORP.EXAMPLE.COM"].is_dc


def test_long_host_names_meet_their_netbios_form(tmp_path: Path) -> None:
    """Windows cuts a host name to 15 characters for its NetBIOS name: a DC named
    DOMAINCONTROLLER01.corp.example.com in its Kerberos events is DOMAINCONTROLLE in a
    NetBIOS-form export, and is the same DC."""
    docs = [
        _rec(1, "DOMAINCONTROLLER01.corp.example.com", 4768, 0, TargetUserName="bob",
             Status="0x0"),
        _rec(2, "DOMAINCONTROLLE", 4776, 1, TargetUserName="bob", Workstation="WKS02",
             PackageName="MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", Status="0x0"),
    ]
    store = _store(tmp_path, docs)
    with store.connect() as con:
        rows = {r.account: r for r in Analytics(duckdb_runner(con)).failure_map()}
        cover = {c.host: c for c in Analytics(duckdb_runner(con)).coverage()}
    assert rows["bob"].cause == "unknown" and rows["bob"].server == "(UNKNOWN)"
    assert cover["DOMAINCONTROLLE"].is_dc
