"""Self-signed TLS certificate for the replica's CONNECT tunnels.

Generated in memory at start-up with ``cryptography`` (never stored in the repository), written to
temporary files only long enough for :meth:`ssl.SSLContext.load_cert_chain` to read them. Scrapy
does not verify certificates by default (``DOWNLOAD_VERIFY_CERTIFICATES = False``), but the
certificate is well-formed: SANs for every host family of the network, serverAuth EKU, one year of
validity.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import ssl
import tempfile
import threading
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["SAN_NAMES", "generate_certificate", "server_context"]

#: DNS names the certificate covers.
SAN_NAMES: tuple[str, ...] = (
    "*.chinalco.com.cn",
    "chinalco.com.cn",
    "*.chalco.com.cn",
    "chalco.com.cn",
    "*.chalco.com",
    "chalco.com",
    "*.gov.cn",
    "*.cnmc.com.cn",
    "*.cecep.cn",
    "localhost",
)


def generate_certificate(names: Sequence[str] = SAN_NAMES, days: int = 365) -> tuple[bytes, bytes]:
    """Return ``(cert_pem, key_pem)`` of a fresh self-signed ECDSA P-256 certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "chinalco-archive replica"),
            x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "localhost"),
        ]
    )
    now = _dt.datetime.now(_dt.timezone.utc)
    san = [x509.DNSName(n) for n in names]
    san.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem


_lock = threading.Lock()
_cached: ssl.SSLContext | None = None


def _build_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # The replica speaks HTTP/1.1 only; say so if the client offers ALPN.
    ctx.set_alpn_protocols(["http/1.1"])
    fd, path = tempfile.mkstemp(prefix="replica-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key_pem)
            fh.write(cert_pem)
        ctx.load_cert_chain(path)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    return ctx


def server_context(fresh: bool = False) -> ssl.SSLContext:
    """Server-side :class:`ssl.SSLContext` with the replica certificate.

    The certificate is generated once per process and shared (generation is cheap but not free);
    pass ``fresh=True`` for a new one.
    """
    global _cached
    with _lock:
        if _cached is None or fresh:
            ctx = _build_context(*generate_certificate())
            if fresh:
                return ctx
            _cached = ctx
        return _cached
