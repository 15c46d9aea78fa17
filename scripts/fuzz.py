"""Fuzzes the whole GraphQL schema for longer than the suite does:

    python -m scripts.fuzz --examples 10000
    python -m scripts.fuzz --examples 10000 --random
    python -m scripts.fuzz --examples 10000 \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

Runs tests/abuse/test_fuzz.py with that many documents; a failure prints the
smallest document hypothesis found for it."""

from __future__ import annotations

from scripts._pytest_run import OneLineParser, run_test


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m scripts.fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=10_000, help="documents to send")
    parser.add_argument(
        "--database-url", help="PostgreSQL URL to run on (a database is created beside it)"
    )
    parser.add_argument(
        "--random",
        action="store_true",
        help="draw other documents than the suite's fixed sequence",
    )
    arguments = parser.parse_args(argv)
    if arguments.examples < 1:
        parser.error("--examples must be at least 1")
    environment = {
        "COMPASS_FUZZ_EXAMPLES": str(arguments.examples),
        "COMPASS_FUZZ_RANDOM": "1" if arguments.random else "0",
    }
    return run_test("tests/abuse/test_fuzz.py", environment, arguments.database_url)


if __name__ == "__main__":
    raise SystemExit(main())
