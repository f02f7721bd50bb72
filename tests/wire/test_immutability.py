"""The wire classes are immutable values (wire/krb5.py docstring): every field is Final.

mypy --strict refuses an assignment to a field after __init__ in either build, and in
the mypyc-compiled build (tests/test_compiled_build.py runs this file against the wheel)
the attributes are also read-only at run time.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from kerbfirst.wire import krb5
from kerbfirst.wire.krb5 import EncryptedData, EncryptionKey, KdcReq, Ticket

SNIPPET = """
from kerbfirst.wire.krb5 import EncryptedData, Ticket
def f(e: EncryptedData, t: Ticket) -> None:
    e.etype = 17
    t.raw = None
"""


def test_mypy_refuses_assignment_to_a_field(tmp_path: Path) -> None:
    src = Path(krb5.__file__).resolve().parents[2]
    probe = tmp_path / "probe.py"
    probe.write_text(SNIPPET)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(probe)],
        capture_output=True, text=True, timeout=300, check=False,
        env={"MYPYPATH": str(src), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'Cannot assign to final attribute "etype"' in done.stdout
    assert 'Cannot assign to final attribute "raw"' in done.stdout


def test_compiled_build_fields_are_read_only_at_run_time() -> None:
    e = EncryptedData(18, 2, b"x")
    compiled = not krb5.__file__.endswith(".py")
    try:
        e.etype = 17  # type: ignore[misc]
    except AttributeError:
        assert compiled, "pure Python slots are writable; only mypy guards them there"
    else:
        assert not compiled, "the compiled build must refuse assignment to a Final field"
        assert e.etype == 17


def test_values_compare_and_hash_by_value_raw_excluded() -> None:
    a = EncryptedData(18, 2, b"x")
    assert a == EncryptedData(18, 2, b"x") and hash(a) == hash(EncryptedData(18, 2, b"x"))
    assert a != EncryptedData(18, 3, b"x")
    t = Ticket("R", krb5.PrincipalName(2, ("krbtgt", "R")), a)
    decoded = Ticket.decode(t.encode())
    assert decoded.raw is not None and t.raw is None
    assert decoded == t and hash(decoded) == hash(t)
    assert dataclasses.replace(decoded, raw=None) == t
    assert Ticket("S", t.sname, a) != t
    req = KdcReq.decode(
        KdcReq(10, None, krb5.KdcReqBody(0, None, "R", None, None, None, None, 1, (18,))).encode()
    )
    assert req.raw_req_body is not None
    assert req == dataclasses.replace(req, raw_req_body=None)


def test_key_material_stays_out_of_repr() -> None:
    key = EncryptionKey(18, b"\x07" * 32)
    assert repr(key) == "EncryptionKey(keytype=18)"
    assert "\\x07" not in repr(key) and "keyvalue" not in repr(key)
