"""`python -m bench [NAME ...] [--database-url URL] [--scale F] [other options]`

Runs the named benchmarks in their usual order, all of them by default.
`--database-url` goes to every benchmark, `--scale` (a fraction of the full
data size) to those that seed data in bulk; any other option is passed on
as it is, and each benchmark's own `python -m bench NAME --help` lists them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

ORDER = ("agent_config", "small_reads", "pairing", "deep_pages", "startup")
SCALED = ("agent_config", "deep_pages")


def _arguments(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(ORDER))
    parser.add_argument("--database-url", help="a PostgreSQL server (scratch database used)")
    parser.add_argument("--scale", help="fraction of the full data size (agent_config, deep_pages)")
    args, rest = parser.parse_known_args(argv)
    unknown = [name for name in args.names if name not in ORDER]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(ORDER)}")
    return args, rest


def main(argv: list[str] | None = None) -> None:
    args, rest = _arguments(sys.argv[1:] if argv is None else argv)
    chosen = [name for name in ORDER if name in args.names] if args.names else list(ORDER)
    for name in chosen:
        if importlib.util.find_spec(f"bench.{name}") is None:
            print(f"== {name}: bench/{name}.py is not there yet, skipped")
            continue
        passed = list(rest)
        if args.database_url:
            passed += ["--database-url", args.database_url]
        if args.scale and name in SCALED:
            passed += ["--scale", args.scale]
        print(f"== {name}", flush=True)
        importlib.import_module(f"bench.{name}").main(passed)


if __name__ == "__main__":
    main()
