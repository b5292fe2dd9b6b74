"""Test certificates, made with trustme and written as PEM files: a self-signed pair, or a CA and the
pairs it issues (each with its name as common name and subjectAltName, for servers and clients alike)."""

from __future__ import annotations

from pathlib import Path

import trustme

KeyPair = tuple[Path, Path]  # certificate, private key


def _write(directory: Path, name: str, certificate: trustme.Blob, key: trustme.Blob) -> KeyPair:
    pair = directory / f"{name}.crt", directory / f"{name}.key"
    certificate.write_to_path(str(pair[0]))
    key.write_to_path(str(pair[1]))
    return pair


def self_signed(directory: Path, name: str) -> KeyPair:
    """A certificate that signs itself (a CA's), and its key."""
    ca = trustme.CA()
    return _write(directory, name, ca.cert_pem, ca.private_key_pem)


class Authority:
    """A CA whose certificate and key are written to `directory` as `name`.crt and `name`.key."""

    def __init__(self, directory: Path, name: str = "ca") -> None:
        self._ca = trustme.CA()
        self._directory = directory
        self.certificate, self.key = _write(directory, name, self._ca.cert_pem, self._ca.private_key_pem)

    def issue(self, name: str, *, rsa: bool = False) -> KeyPair:
        """A pair for `name`, signed by this CA, written as `name`.crt and `name`.key; an EC key unless
        `rsa` (the key exchanges of DHE need an RSA one)."""
        key_type = trustme.KeyType.RSA if rsa else trustme.KeyType.ECDSA
        leaf = self._ca.issue_cert(name, common_name=name, key_type=key_type)
        return _write(self._directory, name, leaf.cert_chain_pems[0], leaf.private_key_pem)
