"""HTTPS deliveries against a real TLS receiver on 127.0.0.1 with certificates from a test CA.

The guard connects to the address it checked, not to the name, so these show that TLS still
sends the name as SNI and verifies the certificate for the name: a certificate for another
host, or from a CA Clew was not told to trust, is a failed attempt, never a delivery.
"""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from clew.core.actor import Actor
from clew.core.db import Database
from clew.core.settings import Settings
from clew.registry.webhooks import enqueue
from clew.registry.webhooks.service import WebhookService
from clew.registry.webhooks.store import WebhookStore

from .conftest import Receiver

HOST = "hooks.internal"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Authority:
    """A CA that signs leaf certificates for the names a test asks for."""

    directory: Path
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def __post_init__(self) -> None:
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Clew test CA"))
            .issuer_name(_name("Clew test CA"))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.bundle = self.directory / "ca.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def leaf(self, dns_name: str) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(dns_name))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_path, key_path = self.directory / f"{dns_name}.pem", self.directory / f"{dns_name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(_pem(key))
        return cert_path, key_path


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path)


@pytest.fixture
def serve_tls(make_receiver: Callable[..., Receiver]) -> Callable[[tuple[Path, Path]], TlsReceiver]:
    """A receiver answering over TLS with ``cert``, recording the server name each client sent."""

    def start(cert: tuple[Path, Path]) -> TlsReceiver:
        names: list[str | None] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*cert)
        context.sni_callback = lambda _sock, name, _ctx: names.append(name)
        return TlsReceiver(make_receiver(context), names)

    return start


@dataclass
class TlsReceiver:
    receiver: Receiver
    server_names: list[str | None]

    @property
    def port(self) -> int:
        return self.receiver.port

    @property
    def hosts(self) -> list[str]:
        return [request.headers["Host"] for request in self.receiver.requests]


def _deliver(db: Database, settings: Settings, alice: Actor, port: int) -> Any:
    allowed = settings.model_copy(update={"webhook_allowed_hosts": HOST, "webhook_timeout_s": 5})
    service = WebhookService(db, allowed, resolver=lambda host, _port: ["127.0.0.1"])
    service.create(alice, f"https://{HOST}:{port}/hook", ["alias.set"])
    with db.write() as conn:
        [delivery_id] = enqueue(conn, "alias.set", {"name": "churn", "alias": "champion"})
    service.dispatch_pending()
    with db.read() as conn:
        return WebhookStore(conn).get_delivery(delivery_id)


def test_a_delivery_over_tls_sends_the_name_and_verifies_it(
    db: Database,
    settings: Settings,
    alice: Actor,
    authority: Authority,
    serve_tls: Callable[[tuple[Path, Path]], TlsReceiver],
) -> None:
    receiver = serve_tls(authority.leaf(HOST))
    trusted = settings.model_copy(update={"webhook_ca_bundle": str(authority.bundle)})
    delivery = _deliver(db, trusted, alice, receiver.port)
    assert (delivery.status, delivery.last_status_code) == ("delivered", 204)
    assert receiver.server_names == [HOST]  # SNI is the name, though 127.0.0.1 was dialled
    assert receiver.hosts == [f"{HOST}:{receiver.port}"]


def test_a_certificate_for_another_name_is_refused(
    db: Database,
    settings: Settings,
    alice: Actor,
    authority: Authority,
    serve_tls: Callable[[tuple[Path, Path]], TlsReceiver],
) -> None:
    receiver = serve_tls(authority.leaf("other.internal"))
    trusted = settings.model_copy(update={"webhook_ca_bundle": str(authority.bundle)})
    delivery = _deliver(db, trusted, alice, receiver.port)
    assert delivery.status != "delivered" and delivery.last_status_code is None
    assert "certificate" in str(delivery.last_error).lower()
    assert receiver.hosts == []


def test_a_certificate_from_an_untrusted_ca_is_refused(
    db: Database,
    settings: Settings,
    alice: Actor,
    authority: Authority,
    serve_tls: Callable[[tuple[Path, Path]], TlsReceiver],
) -> None:
    receiver = serve_tls(authority.leaf(HOST))
    delivery = _deliver(db, settings, alice, receiver.port)  # public CAs only
    assert delivery.status != "delivered" and delivery.last_status_code is None
    assert "certificate" in str(delivery.last_error).lower()
    assert receiver.hosts == []
