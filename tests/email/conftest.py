"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the e-mail plugin's tests: plain, STARTTLS
or implicit TLS, with or without a login, and a workspace with the plugin loaded."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from aiosmtpd.controller import Controller
from email_support import (
    PLUGIN,
    Certificates,
    Inbox,
    SmtpServer,
    authenticator,
    extra_plugins,
    free_port,
)

import siyu
from siyu.core import plugins as core_plugins


@pytest.fixture
def builtin_email(monkeypatch):
    """The plugin among the built-ins (as it will be), for code that opens its own
    workspace: the CLI, the docs' example."""
    if PLUGIN not in core_plugins.DEFAULT_PLUGINS:
        monkeypatch.setattr(core_plugins, "DEFAULT_PLUGINS",
                            (*core_plugins.DEFAULT_PLUGINS, PLUGIN))


@pytest.fixture(scope="session")
def certificates(tmp_path_factory) -> Certificates:
    """A throw-away certificate authority and a server certificate it signed for
    ``localhost`` and ``127.0.0.1``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "siyu test CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                            crl_sign=True, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                              critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = Certificates(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return paths


@pytest.fixture
def smtp_server(certificates):
    """``smtp_server(security="none" | "starttls" | "ssl", auth=False, exclude=())``: a
    running server; all are stopped after the test."""
    started: list[Controller] = []

    def start(security: str = "none", *, auth: bool = False,
              exclude: tuple[str, ...] = ()) -> SmtpServer:
        inbox = Inbox()
        port = free_port()
        kwargs: dict = {"hostname": "127.0.0.1", "port": port, "server_hostname": "localhost"}
        if security == "starttls":
            kwargs["tls_context"] = certificates.server_context()
        elif security == "ssl":
            kwargs["ssl_context"] = certificates.server_context()
        if auth:
            kwargs.update(authenticator=authenticator, auth_exclude_mechanism=list(exclude),
                          auth_require_tls=security == "starttls")  # (implicit TLS is not seen)
        controller = Controller(inbox, **kwargs)
        controller.start()
        started.append(controller)
        return SmtpServer(inbox, port, security, controller)

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def email_ws(db_url, tmp_path, monkeypatch):
    """A workspace on each engine with the e-mail plugin, its secret in a file of the test."""
    monkeypatch.delenv("SIYU_SECRET_KEY", raising=False)
    monkeypatch.setenv("SIYU_SECRET_FILE", str(tmp_path / "workspace.secret"))
    ws = siyu.open(db_url, plugins=extra_plugins(), load_entry_points=False)
    ws.settings.set("name", "鲜花铺")
    yield ws
    ws.close()


