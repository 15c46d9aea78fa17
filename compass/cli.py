"""The `compass` command line.

`main` is the entry point: it runs the typer app and turns any error into one
line on stderr and exit status 2 (configuration) or 1 (runtime), see
`compass.errors_cli`; the traceback only with `--debug` or
COMPASS_LOG_LEVEL=debug. Commands import what they need when they run, so
`compass --help` and `compass token` stay off the server, the schema and Alembic.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from compass.agent.cli import agent_app
from compass.config import DEFAULT_TENANT_ID, Settings
from compass.errors_cli import ConfigurationError, flag_and_variable, offer_flag, run_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="Compass: connect Applications to Runtimes.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
ca_app = typer.Typer(help="The certificate authority.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ca_app, name="ca")
app.add_typer(tenant_app, name="tenant")
app.add_typer(agent_app, name="agent")
secrets_app = typer.Typer(help="The key that encrypts stored secrets.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")

_debug = {"on": False}


def _shown_default(value: Any) -> str | bool:
    if value is None or value == []:
        return False
    return f"{value:g}" if isinstance(value, float) else str(value)


def _setting(name: str, *flags: str, metavar: str | None = None) -> Any:
    """An option for setting `name`: its variable, description and default come
    from Settings, so help and behaviour cannot drift apart."""
    field = Settings.model_fields[name]
    offer_flag(name)
    return typer.Option(
        *flags,
        envvar=f"COMPASS_{name.upper()}",
        show_envvar=True,
        show_default=_shown_default(field.get_default(call_default_factory=True)),
        help=field.description,
        metavar=metavar or name.rsplit("_", 1)[-1].upper(),
    )


DataDir = Annotated[Path | None, _setting("data_dir", metavar="DIR")]
DatabaseURL = Annotated[str | None, _setting("database_url", metavar="URL")]


class Output(StrEnum):
    table = "table"
    json = "json"


OutputOption = Annotated[
    Output, typer.Option("--output", "-o", help="Output format.", show_default=True)
]


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _settings_help() -> str:
    """Every setting, as the environment variable that sets it."""
    lines = ["Every setting can also come from the environment:", ""]
    for name, field in Settings.model_fields.items():
        shown = _shown_default(field.get_default(call_default_factory=True))
        default = f" [default: {shown}]" if shown else ""
        lines.append(f"COMPASS_{name.upper()}: {field.description}{default}")
    return "\n\n".join(lines)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"compass {version('compass-py')}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="On an error, print its traceback too.")
    ] = False,
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Compass: connect Applications to Runtimes."""
    _debug["on"] = debug


def _require_in_data_dir(settings: Settings, filename: str, what: str) -> Path:
    """Only `compass serve` creates the data dir's keys and database: anything
    else run on the wrong directory would silently make its own."""
    path = settings.data_dir / filename
    if not path.is_file():
        raise ConfigurationError(
            f"no {what} ({filename}) in {settings.data_dir.resolve()}; point "
            f"{flag_and_variable('data_dir')} at the data dir of `compass serve`"
        )
    return path


def _check_ca_pair(settings: Settings) -> None:
    """Checked before anything is created: a CA certificate is useless without its key."""
    if (settings.ca_cert is None) != (settings.ca_key is None):
        raise ConfigurationError(
            f"{flag_and_variable('ca_cert')} and {flag_and_variable('ca_key')} go together: "
            "an existing CA needs both its certificate and its private key"
        )


def _require_database(settings: Settings) -> None:
    if settings.database_url is None:
        _require_in_data_dir(settings, "compass.db", "database")


@app.command(epilog=_settings_help())
def serve(
    host: Annotated[str | None, _setting("host")] = None,
    port: Annotated[int | None, _setting("port")] = None,
    mtls_port: Annotated[int | None, _setting("mtls_port")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseURL = None,
    public_url: Annotated[str | None, _setting("public_url", metavar="URL")] = None,
    mtls_public_url: Annotated[str | None, _setting("mtls_public_url", metavar="URL")] = None,
    jwt_jwks_url: Annotated[str | None, _setting("jwt_jwks_url", metavar="URL")] = None,
    jwt_issuer: Annotated[str | None, _setting("jwt_issuer")] = None,
    jwt_audience: Annotated[str | None, _setting("jwt_audience")] = None,
    jwt_default_tenant: Annotated[str | None, _setting("jwt_default_tenant")] = None,
    ca_cert: Annotated[Path | None, _setting("ca_cert", metavar="FILE")] = None,
    ca_key: Annotated[Path | None, _setting("ca_key", metavar="FILE")] = None,
    metrics_port: Annotated[int | None, _setting("metrics_port")] = None,
    log_level: Annotated[str | None, _setting("log_level", metavar="LEVEL")] = None,
    log_format: Annotated[str | None, _setting("log_format", metavar="text|json")] = None,
    database_start_timeout: Annotated[
        float | None, _setting("database_start_timeout", metavar="SECONDS")
    ] = None,
    database_pool_size: Annotated[int | None, _setting("database_pool_size", metavar="N")] = None,
    shutdown_timeout: Annotated[
        float | None, _setting("shutdown_timeout", metavar="SECONDS")
    ] = None,
) -> None:
    """Run the whole system in one process: migrations, the public listener
    (GraphiQL, tokens) and the mutual-TLS listener (certificate holders)."""
    settings = _settings(**locals())
    _check_ca_pair(settings)
    gc.disable()  # on again in compass.server.freeze_startup_heap, once the server is built
    from compass import migrate
    from compass.logs import configure_logging
    from compass.server import serve as run_server

    configure_logging(settings.log_level, settings.log_format)
    migrate.upgrade(settings)
    asyncio.run(run_server(settings))


@ca_app.command("export")
def ca_export(
    data_dir: DataDir = None,
    ca_cert: Annotated[Path | None, _setting("ca_cert", metavar="FILE")] = None,
    ca_key: Annotated[Path | None, _setting("ca_key", metavar="FILE")] = None,
) -> None:
    """Print the CA certificate (PEM) that client certificates chain to."""
    from compass.pki.authority import CA_CERT_FILE, CertificateAuthority

    settings = _settings(data_dir=data_dir, ca_cert=ca_cert, ca_key=ca_key)
    _check_ca_pair(settings)
    if settings.ca_cert is None and settings.ca_key is None:
        _require_in_data_dir(settings, CA_CERT_FILE, "CA certificate")
    authority = CertificateAuthority.load(settings.data_dir, settings.ca_cert, settings.ca_key)
    typer.echo(authority.certificate_pem.decode(), nl=False)


_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise typer.BadParameter("use a number with s, m, h or d, e.g. 30m or 12h")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@app.command()
def token(
    data_dir: DataDir = None,
    database_url: DatabaseURL = None,
    tenant: Annotated[
        str,
        typer.Option(
            metavar="TENANT",
            help="Tenant the token is bound to (internal or external ID); '*' for any",
            show_default=True,
        ),
    ] = DEFAULT_TENANT_ID,
    scopes: Annotated[
        str | None,
        typer.Option(
            metavar="SCOPES", help="Space-separated scopes", show_default="every admin scope"
        ),
    ] = None,
    expires: Annotated[
        str, typer.Option(metavar="DURATION", help="Lifetime, e.g. 30m, 1h, 7d", show_default=True)
    ] = "1h",
    subject: Annotated[
        str, typer.Option(metavar="NAME", help="The user the token names", show_default=True)
    ] = ("admin"),
) -> None:
    """Mint a user JWT signed with the server's key; the token is the last line printed."""
    from compass.auth.scopes import ADMIN_SCOPES
    from compass.auth.tokens import mint_user_token
    from compass.pki.jwt_keys import load_signing_key

    lifetime = _duration(expires)
    settings = _settings(data_dir=data_dir, database_url=database_url)
    key = load_signing_key(_require_in_data_dir(settings, "jwt.key", "signing key"))
    # `compass serve` creates the default tenant at every start: only others are looked up.
    if tenant not in ("*", DEFAULT_TENANT_ID):
        _check_tenant(settings, tenant)
    minted = mint_user_token(
        key,
        subject=subject,
        tenant=None if tenant == "*" else tenant,
        scopes=scopes.split() if scopes is not None else list(ADMIN_SCOPES),
        lifetime=lifetime,
    )
    typer.echo(minted)


def _check_tenant(settings: Settings, tenant: str) -> None:
    from compass.database_check import safe_url, tenant_exists

    _require_database(settings)
    if not tenant_exists(settings, tenant):
        raise ConfigurationError(
            f"no tenant {tenant!r} in {safe_url(settings)}; `compass tenant list` shows them"
        )


async def _with_session(settings: Settings, work: Any) -> Any:
    from compass.db import create_engine, create_session_factory

    engine = create_engine(settings.sqlalchemy_url())
    try:
        async with create_session_factory(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def _prepared(data_dir: Path | None, database_url: str | None) -> Settings:
    from compass import migrate

    settings = _settings(data_dir=data_dir, database_url=database_url)
    _require_database(settings)
    migrate.upgrade(settings)
    return settings


@tenant_app.command("add")
def tenant_add(
    name: Annotated[str, typer.Option(help="Display name")],
    external_id: Annotated[
        str | None, typer.Option(help="External ID", show_default="the internal ID")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseURL = None,
) -> None:
    """Create a tenant; its internal ID is the last line printed."""
    from compass.domain.tenant.service import TenantService

    settings = _prepared(data_dir, database_url)

    async def work(session: Any) -> str:
        service = TenantService(session)
        await service.ensure_default()
        return (await service.create(name, external_id)).id

    typer.echo(asyncio.run(_with_session(settings, work)))


@tenant_app.command("list")
def tenant_list(
    data_dir: DataDir = None, database_url: DatabaseURL = None, output: OutputOption = Output.table
) -> None:
    """List tenants: internal ID, external ID, name."""
    from compass.domain.tenant.service import TenantService

    settings = _prepared(data_dir, database_url)

    async def work(session: Any) -> list[Any]:
        service = TenantService(session)
        await service.ensure_default()
        return await service.list()

    rows = [
        {"id": row.id, "external_id": row.external_id, "name": row.name}
        for row in asyncio.run(_with_session(settings, work))
    ]
    _print_rows(rows, {"id": "ID", "external_id": "EXTERNAL ID", "name": "NAME"}, output)


def _print_rows(rows: list[dict[str, Any]], headers: dict[str, str], output: Output) -> None:
    """`table`: a header and aligned columns, for people; `json`: a list, for scripts."""
    if output is Output.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = [list(headers.values())] + [[str(row[key]) for key in headers] for row in rows]
    widths = [max(len(line[column]) for line in table) for column in range(len(headers))]
    for line in table:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument()] = "head",
    data_dir: DataDir = None,
    database_url: DatabaseURL = None,
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from compass import migrate

    migrate.upgrade(_settings(data_dir=data_dir, database_url=database_url), revision)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument()] = "-1",
    data_dir: DataDir = None,
    database_url: DatabaseURL = None,
) -> None:
    """Revert migrations down to REVISION (default: one step; 'base' for all)."""
    from compass import migrate

    settings = _settings(data_dir=data_dir, database_url=database_url)
    _require_database(settings)
    migrate.downgrade(settings, revision)


@db_app.command("current")
def db_current(data_dir: DataDir = None, database_url: DatabaseURL = None) -> None:
    """Show the revision the database is at."""
    from compass import migrate

    settings = _settings(data_dir=data_dir, database_url=database_url)
    _require_database(settings)
    migrate.current(settings)


@secrets_app.command("reseal")
def secrets_reseal(data_dir: DataDir = None, database_url: DatabaseURL = None) -> None:
    """Encrypt every stored secret again with the first secrets key (the last step
    of a key rotation); prints how many values were re-encrypted."""
    from compass.db import create_engine
    from compass.pki.reseal import reseal_secrets
    from compass.pki.secret_box import load_or_create_secret_box

    settings = _prepared(data_dir, database_url)
    if settings.secrets_key is None:
        _require_in_data_dir(settings, "secrets.key", "secrets key")

    async def run() -> int:
        box = load_or_create_secret_box(settings.secrets_key_path(), settings.secrets_key)
        engine = create_engine(settings.sqlalchemy_url())
        try:
            return await reseal_secrets(engine, box)
        finally:
            await engine.dispose()

    typer.echo(f"{asyncio.run(run())} secrets re-encrypted")


@app.command()
def pair(
    raw_encoded: Annotated[
        str,
        typer.Option(
            metavar="BASE64",
            envvar="COMPASS_PAIR_RAW_ENCODED",
            show_envvar=True,
            help="rawEncoded of requestOneTimeTokenForApplication (base64 of "
            "{token, connectorURL}); prefer the variable: the command line is visible "
            "to other users",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(metavar="DIR", help="Where key.pem, cert.pem and ca.pem are written"),
    ] = Path("app-credentials"),
) -> None:
    """Pair an application: a new key and CSR, the Connector's `configuration` and
    `signCertificateSigningRequest`; writes key.pem (0600), cert.pem (certificate
    and chain) and ca.pem to DIR, then makes a first call over mutual TLS."""
    from compass.pairing import pair_application

    result = pair_application(raw_encoded, out)
    typer.echo(f"paired as {result.viewer_type} {result.viewer_id}; credentials in {out}")
    typer.echo(f"director (mutual TLS): {result.director_url}")


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL)."""
    from compass.resolvers.schema import build_schema

    typer.echo(build_schema().as_str())


def main(argv: list[str] | None = None) -> None:
    """The `compass` executable: errors end as one line, see `compass.errors_cli`."""
    run_app(app, argv, debug=lambda: _debug["on"])


if __name__ == "__main__":
    main()
