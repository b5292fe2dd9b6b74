"""What `ssl_stapling` reads of certificates (stapling.py): the chain in a PEM file, whether one certificate
issued another, the OCSP responder a certificate names. Apart from stapling.py because cryptography's x509
costs 12 MB and 0.1 s to import, which a configuration without OCSP stapling (and every proxy worker forked
from its master) should not pay (issue 15)."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID


def certificates(path: str) -> list[x509.Certificate]:
    """The certificates of a PEM file, in the file's order."""
    with open(path, "rb") as file:
        return x509.load_pem_x509_certificates(file.read())


def issued(leaf: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` issued `leaf` (its subject is the leaf's issuer, and its key signed the leaf)."""
    if leaf.issuer != issuer.subject:
        return False
    try:
        leaf.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def ocsp_url(certificate: x509.Certificate) -> str:
    """The first OCSP responder URL of the certificate's Authority Information Access, or ""."""
    try:
        access = certificate.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    except x509.ExtensionNotFound:
        return ""
    for description in access.value:
        if description.access_method == AuthorityInformationAccessOID.OCSP:
            return str(description.access_location.value)
    return ""
