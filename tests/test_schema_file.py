"""The committed SDL is the schema the code serves."""

from pathlib import Path

from compass.resolvers.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_committed_schema_matches_the_code():
    committed = SCHEMA_FILE.read_text(encoding="utf-8").rstrip()
    generated = build_schema().as_str().rstrip()
    assert committed == generated, (
        f"{SCHEMA_FILE.name} differs from the schema the code builds; "
        "regenerate it with `compass schema > schema.graphql`"
    )
