"""Puts 100 concurrent clients on a real `compass serve` for a while:

    python -m scripts.load                 # 60 s on SQLite
    python -m scripts.load --seconds 60 \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

Runs tests/abuse/test_load.py for that long; it prints the counts of outcomes."""

from __future__ import annotations

from scripts._pytest_run import OneLineParser, run_test


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m scripts.load", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long clients run")
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients")
    parser.add_argument(
        "--database-url", help="PostgreSQL URL to run on (a database is created beside it)"
    )
    arguments = parser.parse_args(argv)
    if arguments.seconds <= 0 or arguments.clients < 1:
        parser.error("--seconds must be positive and --clients at least 1")
    environment = {
        "COMPASS_LOAD_SECONDS": str(arguments.seconds),
        "COMPASS_LOAD_CLIENTS": str(arguments.clients),
    }
    return run_test("tests/abuse/test_load.py", environment, arguments.database_url, "-s")


if __name__ == "__main__":
    raise SystemExit(main())
