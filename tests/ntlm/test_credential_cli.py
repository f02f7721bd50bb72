"""`kerbfirst policy credential`: a LocalKDC account gets an NT hash only while a live
exception names it; the hash authenticates pyspnego's NTLM client, dies on sweep after
expiry, and a refused request changes no key."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from kerbfirst.app.realm_config import load_config
from kerbfirst.cli.main import app
from kerbfirst.gss.ntlm import NtHashVerifier
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.store.masterkey import load_master_key
from kerbfirst.store.nt_hashes import NtHashStore
from kerbfirst.store.ntlm_policy_file import load_policy_file
from kerbfirst.store.principals import SqlitePrincipalStore
from ntlm.peer import NOW, WEB, acceptor, client, exchange
from ntlm.test_policy_cli import Cli


def _kvno(realm_dir: Path) -> int:
    cfg = load_config(realm_dir)
    with SqlitePrincipalStore(cfg.db_path, load_master_key(cfg.master_key_path),
                              realm=cfg.realm) as store:
        return store.get_info(f"alice@{cfg.realm}").kvno


def test_credential_life_cycle(tmp_path: Path) -> None:
    runner = CliRunner()
    realm_dir = tmp_path / "realm"
    assert runner.invoke(app, ["realm", "init", "--dir", str(realm_dir), "--realm",
                               "CORP.EXAMPLE"]).exit_code == 0
    assert runner.invoke(app, ["principal", "add", "alice", "--dir", str(realm_dir),
                               "--password-stdin"], input="first password 1\n").exit_code == 0
    cli = Cli(tmp_path)
    cli("init", "--mode", "enforce", "--estate")
    set_args = ["credential", "set", "alice", "--dir", str(realm_dir), "--password-stdin"]
    kvno = _kvno(realm_dir)
    result = runner.invoke(app, ["policy", "--policy", str(cli.policy), "--now",
                                 "2026-12-04T10:00:00+00:00", *set_args],
                           input="Correct horse 7!\n")
    assert result.exit_code != 0 and "no live NTLM exception names CORP\\alice" in (
        result.output)
    assert _kvno(realm_dir) == kvno  # refused before any key changed
    cli.add("EX-1", "web.corp.example", "2026-12-10", "--user", "CORP\\alice")
    result = runner.invoke(app, ["policy", "--policy", str(cli.policy), "--now",
                                 "2026-12-04T10:00:00+00:00", *set_args],
                           input="Correct horse 7!\n")
    assert result.exit_code == 0, result.output
    assert _kvno(realm_dir) == kvno + 1  # the Kerberos keys follow the same password
    assert "CORP\\alice\tEX-1" in cli("credential", "list", "--dir", str(realm_dir))

    cfg = load_config(realm_dir)
    nt = NtHashStore(cfg.directory / "ntlm-credentials.db", load_master_key(
        cfg.master_key_path))
    policy = load_policy_file(cli.policy)
    ctx = acceptor(WEB, verifier=NtHashVerifier(lambda u, d: nt.lookup(u, d, policy, NOW)),
                   replay=ReplayCache())
    _, _, auth = exchange(ctx, client())
    assert ctx.authenticate(auth, now=NOW).user == "alice"

    out = cli("credential", "sweep", "--dir", str(realm_dir), now="2026-12-11T00:00:00+00:00")
    assert "destroyed 1 NTLM credentials: CORP\\alice" in out
    assert nt.accounts() == []
    nt.close()
    assert os.stat(cfg.directory / "ntlm-credentials.db").st_mode & 0o077 == 0
