"""Administration while `kerbfirst kdc serve` runs, with real processes only: the CLI, the
server (1 and 2 workers) and MIT's kinit with the realm's own krb5.conf.

Every change is seen by the serving KDC within its documented delay (5 ms after the command
returns; a new process is slower than that to start), and no sequence of CLI commands, KDC
writes, SIGTERM or kill -9 damages the store.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kerbfirst.client import Credential, KerberosError
from kerbfirst.wire import constants as c
from localkdc.conftest import CliRealm
from localkdc.serving import integrity, kill9, make_realm, mit_kinit, principals, serving, udp_as

pytestmark = pytest.mark.peer

REALM = "ADMIN.TEST"
WRONG = "Password incorrect while getting initial credentials"
NOT_FOUND = "not found in Kerberos database while getting initial credentials"
REVOKED = "Client's credentials have been revoked while getting initial credentials"


@pytest.mark.parametrize("workers", [1, 2])
def test_add_rekey_disable_delete_are_seen_while_serving(tmp_path: Path, workers: int) -> None:
    cli = make_realm(tmp_path, REALM)
    cli.kf("principal", "add", "alice", "--password-stdin", stdin="alice password 1\n")
    with serving(cli, workers):
        assert mit_kinit(cli, tmp_path, "alice", "alice password 1") == (0, "")
        # Added while serving: each new principal gets a TGT at once (every worker sees it;
        # a kinit's two requests may go to either one, so each check runs twice).
        for name in ("bob", "carol"):
            cli.kf("principal", "add", name, "--password-stdin", stdin=f"{name} password 1\n")
            cli.kf("principal", "list")  # another process that opens and closes the store
            for _ in range(2):
                assert mit_kinit(cli, tmp_path, name, f"{name} password 1") == (0, "")
        # Rekeyed: the old password fails at once, the new one works.
        cli.kf("principal", "rekey", "bob", "--password-stdin", stdin="bob password 2\n")
        for _ in range(2):
            code, err = mit_kinit(cli, tmp_path, "bob", "bob password 1")
            assert code != 0 and WRONG in err, err
            assert mit_kinit(cli, tmp_path, "bob", "bob password 2") == (0, "")
        # Disabled, then enabled again.
        cli.kf("principal", "disable", "carol")
        for _ in range(2):
            code, err = mit_kinit(cli, tmp_path, "carol", "carol password 1")
            assert code != 0 and REVOKED in err, err
        cli.kf("principal", "enable", "carol")
        assert mit_kinit(cli, tmp_path, "carol", "carol password 1") == (0, "")
        # Deleted: no TGT any more.
        cli.kf("principal", "delete", "bob", "--force")
        for _ in range(2):
            code, err = mit_kinit(cli, tmp_path, "bob", "bob password 2")
            assert code != 0 and NOT_FOUND in err, err
        assert set(principals(cli)) == {f"krbtgt/{REALM}@{REALM}", f"alice@{REALM}",
                                        f"carol@{REALM}"}
    assert integrity(cli) == [("ok",)]


def _posix_lock_holders(path: Path) -> set[int]:
    """Processes holding a POSIX lock on the file (Linux /proc/locks: "N: POSIX ADVISORY
    READ|WRITE pid major:minor:inode start end")."""
    inode = path.stat().st_ino
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "POSIX" and fields[5].endswith(f":{inode}"):
            holders.add(int(fields[4]))
    return holders


def _children(pid: int) -> set[int]:
    return {
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    }


@pytest.mark.parametrize("workers", [1, 2])
def test_every_serving_process_holds_its_own_sqlite_lock(tmp_path: Path, workers: int) -> None:
    """SQLite's WAL is safe only while each process using the database holds its shared
    lock on the file; a process without one lets another process's close fold and delete
    the WAL under it. Each worker holds its own (none may rely on a parent's)."""
    cli = make_realm(tmp_path, REALM)
    cli.kf("principal", "add", "alice", "--password-stdin", stdin="alice password 1\n")
    with serving(cli, workers) as kdc:
        for _ in range(4):
            assert isinstance(udp_as(cli, REALM, "alice", "alice password 1"), Credential)
        serving_pids = {kdc.pid} if workers == 1 else _children(kdc.pid)
        assert len(serving_pids) == workers
        holders = _posix_lock_holders(cli.directory / "principals.db")
        assert serving_pids <= holders, (
            f"KDC processes {sorted(serving_pids - holders)} use principals.db without "
            f"holding a lock on it (holders: {sorted(holders)})"
        )


def _wrong_preauths(cli: CliRealm, count: int) -> None:
    for _ in range(count):
        got = udp_as(cli, REALM, "alice", "not the password")
        assert isinstance(got, KerberosError) and got.code == c.KDC_ERR_PREAUTH_FAILED, got


@pytest.mark.parametrize("workers", [1, 2])
def test_preauth_failures_sigterm_and_kill9_leave_the_store_whole(
    tmp_path: Path, workers: int
) -> None:
    """Hundreds of failure counts written by the KDC while administrators add and list,
    then a SIGTERM, then more and a kill -9 of every KDC process: the database passes
    PRAGMA integrity_check, `principal list` works, and every counted failure is there."""
    # Threshold 0: lock-out off, so that every wrong password is judged and written.
    cli = make_realm(tmp_path, REALM, lockout_threshold="0")
    cli.kf("principal", "add", "alice", "--password-stdin", stdin="alice password 1\n")
    with serving(cli, workers):
        for round_ in range(2):
            _wrong_preauths(cli, 100)
            cli.kf("principal", "add", f"svc{round_}", "--random")
            assert f"svc{round_}@{REALM}" in principals(cli)
    assert integrity(cli) == [("ok",)]
    assert principals(cli)[f"alice@{REALM}"]["fail_count"] == 200
    with serving(cli, workers) as kdc:
        _wrong_preauths(cli, 60)
        cli.kf("principal", "add", "svc-late", "--random")
        _wrong_preauths(cli, 40)
        kill9(kdc)
    assert integrity(cli) == [("ok",)]
    listed = principals(cli)
    assert listed[f"alice@{REALM}"]["fail_count"] == 300
    assert f"svc-late@{REALM}" in listed
    # And the realm still serves.
    with serving(cli, workers):
        assert isinstance(udp_as(cli, REALM, "alice", "alice password 1"), Credential)
