"""The `compass` command line."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from compass.agent.cli import agent_app
from compass.config import DEFAULT_TENANT_ID, Settings

app = typer.Typer(
    help="Compass: connect Applications to Runtimes.", no_args_is_help=True, rich_markup_mode=None
)
db_app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
ca_app = typer.Typer(help="The certificate authority.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ca_app, name="ca")
app.add_typer(tenant_app, name="tenant")
app.add_typer(agent_app, name="agent")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (SQLite, keys) [env COMPASS_DATA_DIR; default ./.compass]",
    ),
]
DatabaseURL = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy async URL, e.g. postgresql+asyncpg://user@host/db "
        "[env COMPASS_DATABASE_URL; default SQLite in the data directory]",
    ),
]


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _settings_help() -> str:
    """Every setting, as the environment variable that sets it."""
    lines = ["Every setting can also come from the environment:", ""]
    for name, field in Settings.model_fields.items():
        default = field.default if field.default_factory is None else field.default_factory()
        shown = "" if default in (None, []) else f" [default {default}]"
        lines.append(f"COMPASS_{name.upper()}: {field.description}{shown}")
    return "\n\n".join(lines)


def _option(help_text: str) -> Any:
    return typer.Option(help=help_text)


@app.command(epilog=_settings_help())
def serve(
    host: Annotated[str | None, _option("Listeners' address [COMPASS_HOST]")] = None,
    port: Annotated[int | None, _option("Public listener port [COMPASS_PORT]")] = None,
    mtls_port: Annotated[
        int | None, _option("Mutual-TLS listener port [COMPASS_MTLS_PORT]")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseURL = None,
    public_url: Annotated[
        str | None, _option("URL of the public listener for clients [COMPASS_PUBLIC_URL]")
    ] = None,
    mtls_public_url: Annotated[
        str | None,
        _option("URL of the mutual-TLS listener for clients [COMPASS_MTLS_PUBLIC_URL]"),
    ] = None,
    log_level: Annotated[
        str | None, _option("debug, info, warning or error [COMPASS_LOG_LEVEL]")
    ] = None,
) -> None:
    """Run the whole system in one process: migrations, the public listener
    (GraphiQL, tokens) and the mutual-TLS listener (certificate holders)."""
    from compass import migrate
    from compass.logs import configure_logging
    from compass.server import serve as run_server

    settings = _settings(
        host=host,
        port=port,
        mtls_port=mtls_port,
        data_dir=data_dir,
        database_url=database_url,
        public_url=public_url,
        mtls_public_url=mtls_public_url,
        log_level=log_level,
    )
    configure_logging(settings.log_level)
    migrate.upgrade(settings)
    asyncio.run(run_server(settings))


@ca_app.command("export")
def ca_export(
    data_dir: DataDir = None,
    ca_cert: Annotated[
        Path | None, typer.Option(help="An existing CA certificate [COMPASS_CA_CERT]")
    ] = None,
    ca_key: Annotated[Path | None, typer.Option(help="Its private key [COMPASS_CA_KEY]")] = None,
) -> None:
    """Print the CA certificate (PEM) that client certificates chain to."""
    from compass.pki.authority import CertificateAuthority

    settings = _settings(data_dir=data_dir, ca_cert=ca_cert, ca_key=ca_key)
    authority = CertificateAuthority.load_or_create(
        settings.data_dir, settings.ca_cert, settings.ca_key
    )
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
    tenant: Annotated[
        str,
        typer.Option(help="Tenant the token is bound to (internal or external ID); '*' for any"),
    ] = DEFAULT_TENANT_ID,
    scopes: Annotated[
        str | None, typer.Option(help="Space-separated scopes [default: every admin scope]")
    ] = None,
    expires: Annotated[str, typer.Option(help="Lifetime, e.g. 30m, 1h, 7d")] = "1h",
    subject: Annotated[str, typer.Option(help="The user the token names")] = "admin",
) -> None:
    """Mint a user JWT signed with the local key; the token is the last line printed."""
    from compass.auth.scopes import ADMIN_SCOPES
    from compass.auth.tokens import mint_user_token
    from compass.pki.jwt_keys import load_or_create_signing_key

    settings = _settings(data_dir=data_dir)
    key = load_or_create_signing_key(settings.jwt_key_path())
    minted = mint_user_token(
        key,
        subject=subject,
        tenant=None if tenant == "*" else tenant,
        scopes=scopes.split() if scopes is not None else list(ADMIN_SCOPES),
        lifetime=_duration(expires),
    )
    typer.echo(minted)


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
    migrate.upgrade(settings)
    return settings


@tenant_app.command("add")
def tenant_add(
    name: Annotated[str, typer.Option(help="Display name")],
    external_id: Annotated[
        str | None, typer.Option(help="External ID [default: the internal ID]")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseURL = None,
) -> None:
    """Create a tenant; its internal ID is the last line printed."""
    from compass.domain.tenant.service import TenantService
    from compass.errors import CompassError

    settings = _prepared(data_dir, database_url)

    async def work(session: Any) -> str:
        service = TenantService(session)
        await service.ensure_default()
        return (await service.create(name, external_id)).id

    try:
        typer.echo(asyncio.run(_with_session(settings, work)))
    except CompassError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from error


@tenant_app.command("list")
def tenant_list(data_dir: DataDir = None, database_url: DatabaseURL = None) -> None:
    """List tenants: internal ID, external ID, name."""
    from compass.domain.tenant.service import TenantService

    settings = _prepared(data_dir, database_url)

    async def work(session: Any) -> list[Any]:
        service = TenantService(session)
        await service.ensure_default()
        return await service.list()

    for row in asyncio.run(_with_session(settings, work)):
        typer.echo(f"{row.id}\t{row.external_id}\t{row.name}")


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

    migrate.downgrade(_settings(data_dir=data_dir, database_url=database_url), revision)


@db_app.command("current")
def db_current(data_dir: DataDir = None, database_url: DatabaseURL = None) -> None:
    """Show the revision the database is at."""
    from compass import migrate

    migrate.current(_settings(data_dir=data_dir, database_url=database_url))


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL)."""
    from compass.resolvers.schema import build_schema

    typer.echo(build_schema().as_str())


if __name__ == "__main__":
    app()
