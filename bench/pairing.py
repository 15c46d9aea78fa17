"""Pairing: `configuration` then `signCertificateSigningRequest` with a client
CSR prepared beforehand, against its floor, a bare Starlette app that redeems
the same one-time tokens, verifies the CSR and signs it with `cryptography`,
and writes the same rows with plain SQL (4 statements, 2 commits).

Every pairing uses an application and one-time token of its own, prepared
before the clock starts; 16 clients pair concurrently over keep-alive
connections. Rounds alternate ours / floor; the ratio of each pair is printed
as the median with min-max, with the SQL statements one pairing runs:

    python -m bench pairing [--database-url postgresql+asyncpg://...] [--rounds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bench.common import scratch_database
from bench.small_reads import (
    CONNECTIONS,
    AdminClient,
    Pair,
    Rate,
    admin_token,
    count_statements,
    floor_engine,
    on,
    print_ratios,
    run_floor,
    settings_for,
    start_compass,
    start_floor,
)

__all__ = ["main"]

TOKEN = "mutation($id: ID!) { requestOneTimeTokenForApplication(id: $id) { token } }"
AUTHS = "query($id: ID!) { application(id: $id) { auths { id } } }"
CONFIGURATION = (
    "{ configuration { token { token } certificateSigningRequestInfo { subject keyAlgorithm } } }"
)
SIGN = (
    "mutation($csr: String!) { signCertificateSigningRequest(csr: $csr)"
    " { certificateChain caCertificate clientCertificate } }"
)
PATH = "/connector/graphql"
CONFIGURATION_BODY = orjson.dumps({"query": CONFIGURATION, "variables": {}})


@dataclass(frozen=True)
class Prepared:
    """One pairing's one-time token and the CSR its client will send."""

    token: str
    subject: str
    csr_body: bytes


def _subject(settings: Any, system_auth_id: str) -> str:
    return (
        f"O={settings.csr_organization},OU={settings.csr_organizational_unit},"
        f"L={settings.csr_locality},ST={settings.csr_province},C={settings.csr_country},"
        f"CN={system_auth_id}"
    )


def _csr_body(key: rsa.RSAPrivateKey, subject: str) -> bytes:
    from compass.pki.policy import subject_from_string

    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject_from_string(subject))
        .sign(key, hashes.SHA256())
    )
    encoded = base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()
    return orjson.dumps({"query": SIGN, "variables": {"csr": encoded}})


def prepare(
    admin: AdminClient, settings: Any, key: rsa.RSAPrivateKey, count: int
) -> list[Prepared]:
    prepared = []
    for _ in range(count):
        app_id = admin.register(f"bench-pairing-{uuid.uuid4().hex[:12]}")
        token = admin.data(TOKEN, {"id": app_id})["requestOneTimeTokenForApplication"]["token"]
        auth_id = admin.data(AUTHS, {"id": app_id})["application"]["auths"][0]["id"]
        subject = _subject(settings, auth_id)
        prepared.append(Prepared(token, subject, _csr_body(key, subject)))
    return prepared


# --- one pairing, as a client does it -------------------------------------------


async def pair_once(client: httpx.AsyncClient, url: str, item: Prepared) -> dict[str, Any]:
    configured = await _post(client, url, CONFIGURATION_BODY, item.token)
    info = configured["configuration"]
    if info["certificateSigningRequestInfo"]["subject"] != item.subject:
        raise SystemExit(f"unexpected subject: {info}")
    signed = await _post(client, url, item.csr_body, info["token"]["token"])
    return {"configuration": info, **signed}


async def _post(client: httpx.AsyncClient, url: str, body: bytes, token: str) -> dict[str, Any]:
    headers = {"Connector-Token": token, "Content-Type": "application/json"}
    response = await client.post(url, content=body, headers=headers)
    answer = orjson.loads(response.content)
    if response.status_code != 200 or answer.get("errors"):
        raise SystemExit(f"pairing failed: {response.text[:500]}")
    return answer["data"]


async def _pairings(url: str, items: list[Prepared]) -> Rate:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    latencies: list[float] = []
    queue: Iterator[Prepared] = iter(items)
    async with httpx.AsyncClient(limits=limits, timeout=60.0) as client:

        async def worker() -> None:
            for item in queue:
                started = time.perf_counter()
                await pair_once(client, url, item)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - started
    return Rate(len(items) / elapsed, statistics.median(latencies) * 1e3, len(items))


def _pair_all(url: str, items: list[Prepared]) -> Rate:
    return asyncio.run(_pairings(url, items))


# --- the floor ----------------------------------------------------------------------


def _floor_sql() -> dict[str, Any]:
    import sqlalchemy as sa

    from compass.db import UTCDateTime

    when = (sa.bindparam("now", type_=UTCDateTime()), sa.bindparam("expires", type_=UTCDateTime()))
    return {
        "redeem": sa.text(
            "UPDATE one_time_tokens SET used_at = :now WHERE token_hash = :hash"
            " AND used_at IS NULL AND expires_at > :now AND purpose IN ('CONNECTOR', 'CSR')"
            " RETURNING system_auth_id"
        ).bindparams(when[0]),
        "token": sa.text(
            "INSERT INTO one_time_tokens (id, system_auth_id, token_hash, purpose, expires_at,"
            " created_at) VALUES (:id, :auth, :hash, 'CSR', :expires, :now)"
        ).bindparams(*when),
        "certificate": sa.text(
            "INSERT INTO certificates (serial, system_auth_id, fingerprint, not_after, created_at)"
            " VALUES (:serial, :auth, :fingerprint, :not_after, :now)"
        ).bindparams(when[0], sa.bindparam("not_after", type_=UTCDateTime())),
    }


class _FloorAuthority:
    """The CA files of the data directory, used with `cryptography` directly."""

    def __init__(self, data_dir: Path) -> None:
        self.certificate = x509.load_pem_x509_certificate((data_dir / "ca.crt").read_bytes())
        self.key: Any = serialization.load_pem_private_key((data_dir / "ca.key").read_bytes(), None)
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM)
        ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        self.aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)
        self.hash = None if "ed25519" in type(self.key).__name__.lower() else hashes.SHA256()

    def sign(self, csr: x509.CertificateSigningRequest, now: Any) -> x509.Certificate:
        from cryptography.x509.oid import ExtendedKeyUsageOID

        usage = x509.KeyUsage(True, False, True, False, False, False, False, False, False)
        return (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.certificate.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(self.aki, critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), False)
            .add_extension(usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .sign(self.key, self.hash)
        )


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def floor_app(data_dir: Path, database_url: str | None) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from compass.db import utcnow
    from compass.pki.authority import certificate_serial

    settings = settings_for(data_dir, database_url)
    engine = floor_engine(settings)
    authority = _FloorAuthority(data_dir)
    sql = _floor_sql()

    def answer(data: dict[str, Any]) -> Response:
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    async def redeem(connection: Any, token: str, now: Any) -> str:
        found = await connection.scalar(sql["redeem"], {"hash": hash_secret(token), "now": now})
        if found is None:
            raise SystemExit("floor: token refused")
        return found

    async def configuration(request: Any, now: Any) -> Response:
        fresh = secrets.token_urlsafe(32)
        async with engine.begin() as connection:
            auth_id = await redeem(connection, request.headers["connector-token"], now)
            values = {"id": str(uuid.uuid4()), "auth": auth_id, "hash": hash_secret(fresh)}
            expires = now + timedelta(minutes=settings.csr_token_minutes)
            await connection.execute(sql["token"], {**values, "expires": expires, "now": now})
        info = {"subject": _subject(settings, auth_id), "keyAlgorithm": "rsa2048"}
        return answer(
            {"configuration": {"token": {"token": fresh}, "certificateSigningRequestInfo": info}}
        )

    async def sign(request: Any, body: dict[str, Any], now: Any) -> Response:
        pem = base64.b64decode(body["variables"]["csr"])
        csr = x509.load_pem_x509_csr(pem)
        async with engine.begin() as connection:
            auth_id = await redeem(connection, request.headers["connector-token"], now)
            if not csr.is_signature_valid or csr.subject.rfc4514_string() == "":
                raise SystemExit("floor: bad CSR")
            if csr.subject != _subject_name(settings, auth_id):
                raise SystemExit("floor: wrong subject")
            certificate = authority.sign(csr, now)
            row = {
                "serial": certificate_serial(certificate),
                "auth": auth_id,
                "fingerprint": certificate.fingerprint(hashes.SHA256()).hex(),
                "not_after": certificate.not_valid_after_utc,
                "now": now,
            }
            await connection.execute(sql["certificate"], row)
        client_pem = certificate.public_bytes(serialization.Encoding.PEM)
        result = {
            "certificateChain": base64.b64encode(client_pem + authority.pem).decode(),
            "caCertificate": base64.b64encode(authority.pem).decode(),
            "clientCertificate": base64.b64encode(client_pem).decode(),
        }
        return answer({"signCertificateSigningRequest": result})

    async def graphql(request: Any) -> Response:
        body = orjson.loads(await request.body())
        if body["query"].startswith("mutation"):
            return await sign(request, body, utcnow())
        return await configuration(request, utcnow())

    async def ready(_request: Any) -> Response:
        return Response(b"ok")

    routes = [Route("/connector/graphql", graphql, methods=["POST"]), Route("/ready", ready)]
    app = Starlette(routes=routes)
    app.state.engine = engine
    return app


def _subject_name(settings: Any, auth_id: str) -> x509.Name:
    from compass.pki.policy import subject_from_string

    return subject_from_string(_subject(settings, auth_id))


# --- the benchmark ---------------------------------------------------------------------


async def _statements(
    data_dir: Path, database_url: str | None, items: list[Prepared]
) -> tuple[int, int]:
    from compass.app import create_app

    pending = iter(items)

    async def send(client: httpx.AsyncClient) -> dict[str, Any]:
        return await pair_once(client, "/connector/graphql", next(pending))

    settings = settings_for(data_dir, database_url)
    ours, _ = await count_statements(create_app(settings), lambda a: a.state.compass.engine, send)
    floor, _ = await count_statements(
        floor_app(data_dir, database_url), lambda a: a.state.engine, send
    )
    return ours, floor


def _run(args: argparse.Namespace, data_dir: Path, database_url: str | None) -> None:
    settings = settings_for(data_dir, database_url)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    per_side = args.pairings * (args.rounds + 1)  # +1: the warm-up round
    with start_compass(data_dir, database_url) as ours:
        admin = AdminClient(ours.url, admin_token(data_dir))
        items = prepare(admin, settings, key, 2 * per_side + 4)
        admin.close()
        our_count, floor_count = asyncio.run(_statements(data_dir, database_url, items[:4]))
        mine, theirs = items[4 : 4 + per_side], items[4 + per_side :]
        with start_floor("bench.pairing", data_dir, database_url) as floor:
            pairs = []
            for round_ in range(args.rounds + 1):
                batch = slice(round_ * args.pairings, (round_ + 1) * args.pairings)
                pair = Pair(
                    on(ours, partial(_pair_all, ours.url + PATH, mine[batch])),
                    on(floor, partial(_pair_all, floor.url + PATH, theirs[batch])),
                )
                if round_:
                    pairs.append(pair)
    backend = "PostgreSQL" if database_url else "SQLite"
    print(f"pairing on {backend}, {CONNECTIONS} concurrent clients, {args.pairings} per round")
    print(f"  SQL statements per pairing: ours {our_count}, floor {floor_count}")
    print_ratios("configuration + signCertificateSigningRequest", "pairings/s", pairs, "pairing")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench pairing", description=__doc__)
    parser.add_argument("--database-url", help="PostgreSQL server (a scratch database is used)")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved ours/floor pairs")
    parser.add_argument("--pairings", type=int, default=32, help="pairings per round and side")
    parser.add_argument("--serve-floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    if args.serve_floor:
        run_floor(floor_app(args.data_dir, args.database_url), args.port)
        return
    with scratch_database(args.database_url) as database_url:
        with tempfile.TemporaryDirectory(prefix="compass-bench-") as directory:
            _run(args, Path(directory), database_url)


if __name__ == "__main__":
    main()
