"""Certificates for OCSP stapling tests, made with cryptography's builders: a CA, a leaf it signed without
an OCSP responder URL, one with `http://` and one with `ftp://` in its Authority Information Access, the
files nginx is given (the leaf alone, the leaf followed by the CA), and a signed OCSP response saying the
leaf is good."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class StaplingFiles:
    ca: Path
    key: Path  # the leaves' key
    leaf: Path  # no OCSP URL, no chain
    chain: Path  # the same leaf, then the CA
    http_chain: Path  # a leaf with an http:// OCSP URL, then the CA
    ftp_chain: Path  # a leaf with an ftp:// OCSP URL, then the CA
    response: Path  # DER: the leaf of `leaf` is good, signed by the CA


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    ocsp_url: str = "",
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 30 * _DAY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
    if ocsp_url:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(certificate.public_bytes(serialization.Encoding.PEM) for certificate in certificates)


def make_stapling_files(directory: Path) -> StaplingFiles:
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("stapling test CA", ca_key, "stapling test CA", ca_key, ca=True)
    leaf = _certificate("a.test", leaf_key, "stapling test CA", ca_key, ca=False)
    http = _certificate(
        "b.test", leaf_key, "stapling test CA", ca_key, ca=False, ocsp_url="http://127.0.0.1:9/"
    )
    ftp = _certificate("c.test", leaf_key, "stapling test CA", ca_key, ca=False, ocsp_url="ftp://127.0.0.1/")
    now = datetime.datetime.now(datetime.UTC)
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=leaf,
            issuer=ca,
            algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=now - _DAY,
            next_update=now + _DAY,
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca)
        .sign(ca_key, hashes.SHA256())
    )
    files = StaplingFiles(
        ca=directory / "ca.pem",
        key=directory / "key.pem",
        leaf=directory / "leaf.pem",
        chain=directory / "chain.pem",
        http_chain=directory / "http-chain.pem",
        ftp_chain=directory / "ftp-chain.pem",
        response=directory / "response.der",
    )
    files.ca.write_bytes(_pem(ca))
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    files.key.write_bytes(key_pem)
    files.leaf.write_bytes(_pem(leaf))
    files.chain.write_bytes(_pem(leaf, ca))
    files.http_chain.write_bytes(_pem(http, ca))
    files.ftp_chain.write_bytes(_pem(ftp, ca))
    files.response.write_bytes(response.public_bytes(serialization.Encoding.DER))
    return files
