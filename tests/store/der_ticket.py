"""A hand-built DER Ticket (RFC 4120 5.3) for tests: klist decodes it to show the etype."""

from __future__ import annotations


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def _int(v: int) -> bytes:
    return _tlv(0x02, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def _ctx(n: int, body: bytes) -> bytes:
    return _tlv(0xA0 + n, body)


def ticket_der(
    realm: str, components: tuple[str, ...], etype: int, kvno: int, cipher: bytes
) -> bytes:
    sname = _tlv(
        0x30,
        _ctx(0, _int(2))
        + _ctx(1, _tlv(0x30, b"".join(_tlv(0x1B, c.encode()) for c in components))),
    )
    enc_part = _tlv(0x30, _ctx(0, _int(etype)) + _ctx(1, _int(kvno)) + _ctx(2, _tlv(0x04, cipher)))
    realm_der = _tlv(0x1B, realm.encode())
    body = _ctx(0, _int(5)) + _ctx(1, realm_der) + _ctx(2, sname) + _ctx(3, enc_part)
    return _tlv(0x61, _tlv(0x30, body))
