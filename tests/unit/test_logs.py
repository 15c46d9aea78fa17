import logging

from compass.logs import RedactQuerySecrets, redact


def test_tokens_in_query_strings_are_redacted():
    assert (
        redact("/connector/graphql?token=abc123&x=1") == "/connector/graphql?token=[redacted]&x=1"
    )
    assert redact("/p?a=1&client_secret=s3cr3t") == "/p?a=1&client_secret=[redacted]"
    assert redact("/graphql?query={x}") == "/graphql?query={x}"


def test_access_records_are_redacted_before_formatting():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/connector/graphql?token=abc123", "1.1", 200),
        None,
    )
    assert RedactQuerySecrets().filter(record)
    assert "abc123" not in record.getMessage()
    assert "token=[redacted]" in record.getMessage()
