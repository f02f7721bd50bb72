"""Extended Protection for Authentication: TLS channel bindings for HTTP Negotiate.

The binding is RFC 5929 4 `tls-server-end-point`: the hash of the server's certificate
(DER), with the hash function of the certificate's signature algorithm, except that MD5
and SHA-1 become SHA-256 (RFC 5929 4.1). Algorithms with no hash of their own (Ed25519,
Ed448) use SHA-256, as Go and OpenSSL-based clients do. The GSS application data is
b"tls-server-end-point:" + hash (RFC 5929 4, RFC 5056), put in the channel bindings with
empty initiator and acceptor addresses, as Windows and MIT clients send them; the
authenticator carries the MD5 of that structure (RFC 4121 4.1.1.2, gss/checksum.py).

The three settings are IIS's extendedProtection tokenChecking values:
  off             bindings are not checked;
  when-supported  a token with bindings must match this connection's, a token without
                  any (all-zero Bnd: a client that cannot bind) is accepted;
  required        every token must carry this connection's bindings; on a request that
                  did not arrive over TLS nothing can be bound and the token is refused.
"""

from __future__ import annotations

import enum

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from kerbfirst.gss.checksum import ChannelBindings

PREFIX = b"tls-server-end-point:"


class EpaMode(enum.StrEnum):
    OFF = "off"
    WHEN_SUPPORTED = "when-supported"
    REQUIRED = "required"


def end_point_hash(cert_der: bytes) -> bytes:
    """The RFC 5929 4.1 certificate hash of a DER certificate."""
    cert = x509.load_der_x509_certificate(cert_der)
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(cert_der)
    return digest.finalize()


def application_data(cert_der: bytes) -> bytes:
    """The channel-binding application data for a TLS server with this certificate."""
    return PREFIX + end_point_hash(cert_der)


def certificate_der(pem_or_der: bytes) -> bytes:
    """The first certificate of a PEM file (or DER bytes as they are)."""
    if b"-----BEGIN CERTIFICATE-----" in pem_or_der:
        return x509.load_pem_x509_certificate(pem_or_der).public_bytes(Encoding.DER)
    return x509.load_der_x509_certificate(pem_or_der).public_bytes(Encoding.DER)


def gss_bindings(app_data: bytes | None) -> ChannelBindings | None:
    return None if app_data is None else ChannelBindings(application_data=app_data)


class BindingPolicy:
    """What the acceptor is given for one request: (bindings, required), or a refusal."""

    def __init__(self, mode: EpaMode) -> None:
        self.mode = mode

    def for_request(self, app_data: bytes | None) -> tuple[ChannelBindings | None, bool] | str:
        if self.mode is EpaMode.OFF:
            return None, False
        if app_data is None:
            if self.mode is EpaMode.REQUIRED:
                return ("extended protection is required but this request did not arrive "
                        "over TLS on this server, so it carries no channel to bind to")
            return None, False
        return gss_bindings(app_data), self.mode is EpaMode.REQUIRED


__all__ = ["PREFIX", "BindingPolicy", "EpaMode", "application_data", "certificate_der",
           "end_point_hash", "gss_bindings"]
