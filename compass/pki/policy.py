"""What a certificate signing request may obtain.

The Connector announces a subject (`O=...,OU=...,L=...,ST=...,C=...,CN=...`) to
the holder of a one-time token; the CSR that comes back must carry exactly that
subject and an acceptable key, or the request is refused with `InvalidData`.
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from compass.errors import InvalidData

__all__ = [
    "MAX_CSR_LENGTH",
    "MIN_RSA_BITS",
    "SUBJECT_ORDER",
    "check_csr",
    "load_csr",
    "subject_from_string",
    "subject_to_string",
]

MAX_CSR_LENGTH = 64 * 1024
MIN_RSA_BITS = 2048
ACCEPTED_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384"}
CSR_LABELS = {"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"}

SUBJECT_ORDER: tuple[tuple[str, x509.ObjectIdentifier], ...] = (
    ("O", NameOID.ORGANIZATION_NAME),
    ("OU", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("L", NameOID.LOCALITY_NAME),
    ("ST", NameOID.STATE_OR_PROVINCE_NAME),
    ("C", NameOID.COUNTRY_NAME),
    ("CN", NameOID.COMMON_NAME),
)
_OID_BY_LABEL = dict(SUBJECT_ORDER)
_LABEL_BY_OID = {oid: label for label, oid in SUBJECT_ORDER}
_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")


def load_csr(encoded: str) -> x509.CertificateSigningRequest:
    """Read a CSR as the GraphQL input carries it (base64 of PEM), or as bare PEM."""
    text = encoded.strip()
    if not text:
        raise InvalidData("CSR is empty")
    if len(text) > MAX_CSR_LENGTH:
        raise InvalidData(f"CSR is longer than {MAX_CSR_LENGTH} characters")
    if text.startswith("-----BEGIN"):
        pem = text.encode("utf-8", errors="replace")
    else:
        pem = _decode_base64(text)
    match = _PEM_LABEL.search(pem)
    if match is None:
        raise InvalidData("CSR is not PEM: expected base64 of a PEM certificate signing request")
    label = match.group(1).decode("ascii")
    if label not in CSR_LABELS:
        raise InvalidData(f"PEM block is a {label}, not a CERTIFICATE REQUEST")
    try:
        return x509.load_pem_x509_csr(pem)
    except ValueError as error:
        raise InvalidData(f"CSR cannot be parsed: {error}") from error


def check_csr(csr: x509.CertificateSigningRequest, expected_subject: x509.Name) -> None:
    """Refuse a CSR whose signature, subject or key is not acceptable."""
    try:
        public_key = csr.public_key()
        signature_valid = csr.is_signature_valid
    except (UnsupportedAlgorithm, ValueError) as error:
        raise InvalidData(f"CSR uses an unsupported key or signature algorithm: {error}") from error
    if not signature_valid:
        raise InvalidData("CSR signature is invalid")
    difference = _subject_difference(csr.subject, expected_subject)
    if difference is not None:
        raise InvalidData(f"CSR subject does not match: {difference}")
    _check_key(public_key)


def subject_from_string(subject: str) -> x509.Name:
    """Parse `O=...,OU=...,...,CN=...`, keeping the order of the string.

    A backslash escapes a comma or a backslash inside a value.
    """
    attributes = []
    for part in _split_unescaped(subject):
        label, separator, value = part.partition("=")
        label = label.strip().upper()
        if not separator or label not in _OID_BY_LABEL:
            known = ", ".join(_OID_BY_LABEL)
            raise InvalidData(f"subject part {part!r} is not one of {known} followed by '='")
        if not value:
            raise InvalidData(f"subject attribute {label} is empty")
        try:
            attributes.append(x509.NameAttribute(_OID_BY_LABEL[label], value))
        except ValueError as error:
            raise InvalidData(f"subject attribute {label}: {error}") from error
    if not attributes:
        raise InvalidData("subject is empty")
    return x509.Name(attributes)


def subject_to_string(name: x509.Name) -> str:
    """Render a subject in the announced form: O, OU, L, ST, C, CN, comma-separated."""
    rendered = {label: [] for label, _ in SUBJECT_ORDER}
    for attribute in name:
        label = _LABEL_BY_OID.get(attribute.oid)
        if label is None:
            raise ValueError(f"subject attribute {attribute.oid.dotted_string} has no short form")
        rendered[label].append(_escape(str(attribute.value)))
    return ",".join(f"{label}={value}" for label, _ in SUBJECT_ORDER for value in rendered[label])


def _decode_base64(text: str) -> bytes:
    compact = "".join(text.split())
    compact += "=" * (-len(compact) % 4)
    try:
        if "-" in compact or "_" in compact:
            return base64.urlsafe_b64decode(compact.encode("ascii"))
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidData("CSR is not valid base64") from error


def _split_unescaped(text: str) -> list[str]:
    parts, current, escaped = [], [], False
    for character in text:
        if escaped:
            current.append(character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(character)
    if escaped:
        raise InvalidData("subject ends with a lone backslash")
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,")


def _attributes(name: x509.Name) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for attribute in name:
        found.setdefault(attribute.rfc4514_attribute_name, []).append(str(attribute.value))
    return found


def _subject_difference(actual: x509.Name, expected: x509.Name) -> str | None:
    """Compare attribute by attribute, so the message can name the field that differs.

    RDN order is not compared: Go's crypto/x509, which Compass clients use, always
    encodes C, O, OU, L, ST, CN in its own order, and the issued certificate
    carries the expected subject whatever order the CSR used.
    """
    got, want = _attributes(actual), _attributes(expected)
    problems = []
    for label in [*want, *(label for label in got if label not in want)]:
        got_values, want_values = sorted(got.get(label, [])), sorted(want.get(label, []))
        if got_values == want_values:
            continue
        if not got_values:
            problems.append(f"{label} is missing (expected {_show(want_values)})")
        elif not want_values:
            problems.append(f"{label}={_show(got_values)} is not expected")
        else:
            problems.append(f"{label} is {_show(got_values)}, expected {_show(want_values)}")
    if problems:
        return "; ".join(problems)
    if sorted(map(_rdn_key, actual.rdns)) != sorted(map(_rdn_key, expected.rdns)):
        return "attributes are grouped into RDNs differently"
    return None


def _rdn_key(rdn: x509.RelativeDistinguishedName) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((attribute.oid.dotted_string, str(attribute.value)) for attribute in rdn))


def _show(values: list[str]) -> str:
    return repr(values[0]) if len(values) == 1 else repr(values)


def _check_key(key: object) -> None:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise InvalidData(
                f"CSR key is RSA with {key.key_size} bits; at least {MIN_RSA_BITS} are required"
            )
        return
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ACCEPTED_CURVES:
            raise InvalidData(
                f"CSR key is EC on curve {key.curve.name}; accepted curves are P-256 and P-384"
            )
        return
    raise InvalidData(
        f"CSR key is {_key_kind(key)}; use RSA ({MIN_RSA_BITS} bits or more) or EC P-256/P-384"
    )


def _key_kind(key: object) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA"
    return type(key).__name__
