"""MIT's own krb5_parse_name / krb5_unparse_name, called in libkrb5 through ctypes: the
oracle the principal-name code is compared with (the same C code kinit, klist and kadmin
run)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pathlib
import tempfile


class _Data(ctypes.Structure):
    _fields_ = [("magic", ctypes.c_int32), ("length", ctypes.c_uint32),
                ("data", ctypes.POINTER(ctypes.c_char))]


class _Principal(ctypes.Structure):
    _fields_ = [("magic", ctypes.c_int32), ("realm", _Data), ("data", ctypes.POINTER(_Data)),
                ("length", ctypes.c_int32), ("type", ctypes.c_int32)]


_PrincipalPtr = ctypes.POINTER(_Principal)


def _text(d: _Data) -> str:
    return ctypes.string_at(d.data, d.length).decode("utf-8", "surrogateescape")


class MitNames:
    """A krb5 context whose default realm is `default_realm`."""

    def __init__(self, default_realm: str) -> None:
        path = ctypes.util.find_library("krb5")
        if path is None:
            raise AssertionError("libkrb5 is missing: apt-get install libkrb5-3 (MIT krb5)")
        self.lib = ctypes.CDLL(path)
        conf = pathlib.Path(tempfile.mkdtemp()) / "krb5.conf"
        conf.write_text(f"[libdefaults]\n default_realm = {default_realm}\n")
        old = os.environ.get("KRB5_CONFIG")
        os.environ["KRB5_CONFIG"] = str(conf)
        try:
            self.ctx = ctypes.c_void_p()
            rc = self.lib.krb5_init_context(ctypes.byref(self.ctx))
            assert rc == 0, f"krb5_init_context failed: {rc}"
        finally:
            if old is None:
                del os.environ["KRB5_CONFIG"]
            else:
                os.environ["KRB5_CONFIG"] = old

    def parse(self, text: str) -> tuple[tuple[str, ...], str, int] | None:
        """(components, realm, name type), or None when MIT refuses the text."""
        princ = _PrincipalPtr()
        raw = text.encode("utf-8", "surrogateescape")
        if b"\0" in raw:
            return None  # a C string cannot carry it
        if self.lib.krb5_parse_name(self.ctx, raw, ctypes.byref(princ)) != 0:
            return None
        try:
            p = princ.contents
            comps = tuple(_text(p.data[i]) for i in range(p.length))
            return comps, _text(p.realm), p.type
        finally:
            self.lib.krb5_free_principal(self.ctx, princ)

    def unparse(self, components: tuple[str, ...], realm: str) -> str:
        """krb5_unparse_name of a principal laid out here as libkrb5's krb5_principal_data."""
        raw = [c.encode("utf-8", "surrogateescape") for c in components]
        buffers = [ctypes.create_string_buffer(b, len(b) + 1) for b in raw]
        realm_raw = realm.encode("utf-8", "surrogateescape")
        realm_buf = ctypes.create_string_buffer(realm_raw, len(realm_raw) + 1)
        data = (_Data * max(1, len(raw)))()
        for i, (b, buf) in enumerate(zip(raw, buffers, strict=True)):
            data[i] = _Data(0, len(b), ctypes.cast(buf, ctypes.POINTER(ctypes.c_char)))
        princ = _Principal(
            0, _Data(0, len(realm_raw), ctypes.cast(realm_buf, ctypes.POINTER(ctypes.c_char))),
            ctypes.cast(data, ctypes.POINTER(_Data)), len(raw), 1)
        out = ctypes.c_char_p()
        rc = self.lib.krb5_unparse_name(self.ctx, ctypes.byref(princ), ctypes.byref(out))
        assert rc == 0, f"krb5_unparse_name failed: {rc}"
        try:
            assert out.value is not None
            return out.value.decode("utf-8", "surrogateescape")
        finally:
            self.lib.krb5_free_unparsed_name(self.ctx, out)
