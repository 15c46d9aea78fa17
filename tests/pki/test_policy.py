"""CSR policy: what the Connector accepts before it signs anything."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from compass.errors import InvalidData
from compass.pki.policy import check_csr, load_csr, subject_from_string, subject_to_string

ANNOUNCED = "O=Org,OU=OrgUnit,L=locality,ST=province,C=DE,CN=abc"


def expected_subject() -> x509.Name:
    return subject_from_string(ANNOUNCED)


def make_csr(key: object, subject: x509.Name | None = None) -> x509.CertificateSigningRequest:
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject or expected_subject())
    return builder.sign(key, algorithm)


def as_input(csr: x509.CertificateSigningRequest) -> str:
    """The GraphQL form: base64 of the PEM."""
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def replace_attribute(name: x509.Name, oid: x509.ObjectIdentifier, value: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(oid, value) if attribute.oid == oid else attribute
            for attribute in name
        ]
    )


@pytest.mark.parametrize(
    "key",
    [rsa_key(), ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP384R1())],
    ids=["rsa2048", "p256", "p384"],
)
def test_well_formed_csrs_pass_in_base64_and_bare_pem(key: object) -> None:
    csr = make_csr(key)
    loaded = load_csr(as_input(csr))
    assert loaded == csr
    check_csr(loaded, expected_subject())
    pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    check_csr(load_csr(pem), expected_subject())
    check_csr(load_csr("\n  " + as_input(csr)[:40] + "\n" + as_input(csr)[40:] + "\n"), csr.subject)


def test_a_csr_from_the_announced_string_matches_it_and_rdn_order_is_not_held_against_it() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    # A client that parses the announced string builds the same RDN sequence.
    client_csr = make_csr(key, subject_from_string(ANNOUNCED))
    assert client_csr.subject.rdns == expected_subject().rdns
    check_csr(client_csr, expected_subject())
    # Go's crypto/x509 always encodes C, O, OU, L, ST, CN, whatever the string said.
    go_order = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Org"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "OrgUnit"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "locality"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "province"),
            x509.NameAttribute(NameOID.COMMON_NAME, "abc"),
        ]
    )
    check_csr(make_csr(key, go_order), expected_subject())


@pytest.mark.parametrize(
    ("oid", "value", "field"),
    [
        (NameOID.COMMON_NAME, "someone-else", "CN"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "OtherUnit", "OU"),
        (NameOID.COUNTRY_NAME, "PL", "C"),
    ],
)
def test_one_changed_subject_field_is_named(
    oid: x509.ObjectIdentifier, value: str, field: str
) -> None:
    subject = replace_attribute(expected_subject(), oid, value)
    csr = make_csr(ec.generate_private_key(ec.SECP256R1()), subject)
    with pytest.raises(InvalidData, match=f"subject does not match: {field} is '{value}'") as error:
        check_csr(csr, expected_subject())
    assert error.value.code == 22


def test_missing_and_extra_subject_fields_are_named() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    without_locality = x509.Name([a for a in expected_subject() if a.oid != NameOID.LOCALITY_NAME])
    with pytest.raises(InvalidData, match="L is missing"):
        check_csr(make_csr(key, without_locality), expected_subject())

    extra = x509.Name(
        [*expected_subject(), x509.NameAttribute(NameOID.EMAIL_ADDRESS, "a@example.com")]
    )
    with pytest.raises(InvalidData, match="is not expected"):
        check_csr(make_csr(key, extra), expected_subject())

    twice = x509.Name([*expected_subject(), x509.NameAttribute(NameOID.COMMON_NAME, "abc")])
    with pytest.raises(InvalidData, match="CN is"):
        check_csr(make_csr(key, twice), expected_subject())

    grouped = x509.Name(
        [x509.RelativeDistinguishedName(list(expected_subject()))]  # one multi-valued RDN
    )
    with pytest.raises(InvalidData, match="grouped"):
        check_csr(make_csr(key, grouped), expected_subject())


@pytest.mark.parametrize("key", [rsa_key(), ec.generate_private_key(ec.SECP256R1())])
def test_a_tampered_signature_is_refused(key: object) -> None:
    der = bytearray(make_csr(key).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # last byte of the signature value
    tampered = x509.load_der_x509_csr(bytes(der))
    encoded = base64.b64encode(tampered.public_bytes(serialization.Encoding.PEM)).decode()
    csr = load_csr(encoded)
    with pytest.raises(InvalidData, match="signature is invalid"):
        check_csr(csr, expected_subject())


def test_a_csr_signed_by_another_key_is_refused() -> None:
    honest = make_csr(ec.generate_private_key(ec.SECP256R1()))
    forged = make_csr(ec.generate_private_key(ec.SECP256R1()))
    # Honest public key and subject, signature made by a different key.
    honest_der = honest.public_bytes(serialization.Encoding.DER)
    forged_der = forged.public_bytes(serialization.Encoding.DER)
    honest_info = honest.tbs_certrequest_bytes
    forged_info = forged.tbs_certrequest_bytes
    spliced = forged_der.replace(forged_info, honest_info)
    assert spliced != forged_der and len(spliced) == len(forged_der)
    assert honest_der != spliced
    csr = x509.load_der_x509_csr(spliced)
    assert csr.public_key() == honest.public_key()
    with pytest.raises(InvalidData, match="signature is invalid"):
        check_csr(csr, expected_subject())


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (rsa_key(1024), "RSA with 1024 bits; at least 2048"),
        (ec.generate_private_key(ec.SECP521R1()), "curve secp521r1"),
        (ec.generate_private_key(ec.SECP256K1()), "curve secp256k1"),
        (ed25519.Ed25519PrivateKey.generate(), "CSR key is Ed25519"),
    ],
    ids=["rsa1024", "p521", "secp256k1", "ed25519"],
)
def test_weak_or_unsupported_keys_are_refused(key: object, reason: str) -> None:
    csr = load_csr(as_input(make_csr(key)))
    with pytest.raises(InvalidData, match=reason):
        check_csr(csr, expected_subject())


def _certificate_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(expected_subject())
        .issuer_name(expected_subject())
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("!!not*base64@@", "not valid base64"),
        ("QUJD$", "not valid base64"),
        (base64.b64encode(b"just some text").decode(), "not PEM"),
        (base64.b64encode(b"\x30\x82\x01\x00garbage-der").decode(), "not PEM"),
        (base64.b64encode(_certificate_pem().encode()).decode(), "is a CERTIFICATE, not"),
        (_certificate_pem(), "is a CERTIFICATE, not"),
        (
            base64.b64encode(
                b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
            ).decode(),
            "cannot be parsed",
        ),
        ("A" * 70_000, "longer than"),
    ],
    ids=[
        "empty",
        "blank",
        "garbage",
        "bad-char",
        "text",
        "der",
        "certificate",
        "bare-certificate",
        "broken-csr",
        "huge",
    ],
)
def test_undecodable_input_is_refused_with_a_reason(encoded: str, reason: str) -> None:
    with pytest.raises(InvalidData, match=reason) as error:
        load_csr(encoded)
    assert error.value.code == 22


def test_the_subject_string_round_trips_in_the_announced_order() -> None:
    name = subject_from_string(ANNOUNCED)
    assert [(a.oid, a.value) for a in name] == [
        (NameOID.ORGANIZATION_NAME, "Org"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "OrgUnit"),
        (NameOID.LOCALITY_NAME, "locality"),
        (NameOID.STATE_OR_PROVINCE_NAME, "province"),
        (NameOID.COUNTRY_NAME, "DE"),
        (NameOID.COMMON_NAME, "abc"),
    ]
    assert all(len(rdn) == 1 for rdn in name.rdns)
    assert subject_to_string(name) == ANNOUNCED


def test_subject_to_string_uses_the_announced_order_whatever_the_name_order() -> None:
    reversed_name = x509.Name(list(reversed(list(subject_from_string(ANNOUNCED)))))
    assert subject_to_string(reversed_name) == ANNOUNCED


def test_commas_inside_values_are_escaped_and_restored() -> None:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme, Inc. \\ Labs"),
            x509.NameAttribute(NameOID.COMMON_NAME, "abc"),
        ]
    )
    text = subject_to_string(name)
    assert text == "O=Acme\\, Inc. \\\\ Labs,CN=abc"
    assert subject_from_string(text) == name


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "subject is empty"),
        ("O=Org,EMAIL=a@b", "'EMAIL=a@b' is not one of"),
        ("O=Org,CN", "'CN' is not one of"),
        ("O=Org,CN=", "CN is empty"),
        ("C=Germany,CN=abc", "subject attribute C"),
        ("CN=abc\\", "lone backslash"),
    ],
)
def test_malformed_subject_strings_are_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidData, match=reason):
        subject_from_string(text)
