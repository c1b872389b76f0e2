"""Authentication-Results: believed only from our authserv-ids, trusted on DMARC or aligned DKIM.

Header shapes as Gmail, Microsoft 365, OpenDMARC, OpenDKIM and rspamd write them; then the
forgeries and near misses that must not make a stranger look like an agent.
"""

from __future__ import annotations

import pytest

from parsing.authresults import (
    AuthResult,
    AuthResults,
    AuthVerdict,
    authentication_verdict,
    is_aligned,
    organizational_domain,
    parse_authentication_results,
)

GMAIL = (
    "mx.google.com;\r\n"
    "       dkim=pass header.i=@example.com header.s=20230601 header.b=Xy7/abCd;\r\n"
    "       spf=pass (google.com: domain of alice@example.com designates 209.85.220.41 as"
    " permitted sender) smtp.mailfrom=alice@example.com;\r\n"
    "       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com"
)
MICROSOFT = (
    "spf=pass (sender IP is 209.85.222.48)\r\n smtp.mailfrom=example.com; dkim=pass (signature"
    " was verified)\r\n header.d=example.com;dmarc=pass action=none\r\n"
    " header.from=example.com;compauth=pass reason=100"
)
OPENDMARC = "mail.example.org; dmarc=pass (p=reject dis=none) header.from=example.com"
OPENDKIM = (
    "mail.example.org;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=example.com"
    " header.i=@example.com header.a=rsa-sha256 header.s=mail header.b=AbCdEf"
)
RSPAMD = (
    "mail.example.org;\n\tdkim=pass header.d=example.com header.s=dkim header.b=Qw12;\n"
    '\tspf=pass (mail.example.org: domain of "alice@example.com" designates 192.0.2.1 as'
    ' permitted sender) smtp.mailfrom="alice@example.com";\n'
    "\tdmarc=pass (policy=reject) header.from=example.com"
)


# -- parsing -------------------------------------------------------------------------------

PARSED = [
    # (name, value, authserv-id, [(method, result, {property: value})])
    (
        "gmail",
        GMAIL,
        "mx.google.com",
        [
            ("dkim", "pass", {"header.i": "@example.com", "header.s": "20230601"}),
            ("spf", "pass", {"smtp.mailfrom": "alice@example.com"}),
            ("dmarc", "pass", {"header.from": "example.com"}),
        ],
    ),
    (
        "microsoft 365 (no authserv-id)",
        MICROSOFT,
        "",
        [
            ("spf", "pass", {"smtp.mailfrom": "example.com"}),
            ("dkim", "pass", {"header.d": "example.com"}),
            ("dmarc", "pass", {"action": "none", "header.from": "example.com"}),
            ("compauth", "pass", {"reason": "100"}),
        ],
    ),
    (
        "microsoft as some tools render it",
        "spf=pass (sender IP is 209.85.222.48); smtp.mailfrom=example.com; dkim=pass"
        " (signature was verified); header.d=example.com;dmarc=pass action=none;"
        " header.from=example.com;compauth=pass reason=100",
        "",
        [
            ("spf", "pass", {"smtp.mailfrom": "example.com"}),
            ("dkim", "pass", {"header.d": "example.com"}),
            ("dmarc", "pass", {"header.from": "example.com"}),
            ("compauth", "pass", {"reason": "100"}),
        ],
    ),
    (
        "opendmarc",
        OPENDMARC,
        "mail.example.org",
        [("dmarc", "pass", {"header.from": "example.com"})],
    ),
    (
        "opendkim",
        OPENDKIM,
        "mail.example.org",
        [
            (
                "dkim",
                "pass",
                {"header.d": "example.com", "header.i": "@example.com", "header.b": "AbCdEf"},
            )
        ],
    ),
    (
        "rspamd quoted values",
        RSPAMD,
        "mail.example.org",
        [
            ("dkim", "pass", {"header.d": "example.com"}),
            ("spf", "pass", {"smtp.mailfrom": "alice@example.com"}),
            ("dmarc", "pass", {"header.from": "example.com"}),
        ],
    ),
    (
        "version",
        "mx.example.com 1; dkim=pass header.d=example.com",
        "mx.example.com",
        [("dkim", "pass", {"header.d": "example.com"})],
    ),
    ("none", "mx.example.com; none", "mx.example.com", []),
    ("none with version", "mx.example.com 1; none", "mx.example.com", []),
    ("id only", "mx.example.com", "mx.example.com", []),
    ("trailing semicolon", "mx.example.com; dkim=fail;", "mx.example.com", [("dkim", "fail", {})]),
    (
        "upper case",
        "MX.Example.COM; DKIM=PASS Header.D=Example.COM; DMARC=FAIL HEADER.FROM=example.com",
        "mx.example.com",
        [
            ("dkim", "pass", {"header.d": "Example.COM"}),
            ("dmarc", "fail", {"header.from": "example.com"}),
        ],
    ),
    (
        "spaces around =",
        "mx.example.com; dkim = pass header.d = example.com",
        "mx.example.com",
        [("dkim", "pass", {"header.d": "example.com"})],
    ),
    (
        "method version",
        "mx.example.com; dkim/1=pass header.d=example.com",
        "mx.example.com",
        [("dkim", "pass", {"header.d": "example.com"})],
    ),
    (
        "quoted reason with ; and =",
        'mx.example.com; dkim=pass reason="ok; a=b (c)" header.d=example.com',
        "mx.example.com",
        [("dkim", "pass", {"reason": "ok; a=b (c)", "header.d": "example.com"})],
    ),
    (
        "nested comment with ; and =",
        "mx.example.com (a (nested; x=y) comment); dkim=pass (x; dmarc=pass) header.d=example.com",
        "mx.example.com",
        [("dkim", "pass", {"header.d": "example.com"})],
    ),
    (
        "quoted authserv-id",
        '"mx.example.com"; dkim=pass header.d=example.com',
        "mx.example.com",
        [("dkim", "pass", {"header.d": "example.com"})],
    ),
    (
        "header name included",
        "Authentication-Results: mx.example.com; dkim=pass header.d=example.com",
        "mx.example.com",
        [("dkim", "pass", {"header.d": "example.com"})],
    ),
    (
        "comment glued to value",
        "mx.example.com; dkim=pass header.d=example.com(good)",
        "mx.example.com",
        [("dkim", "pass", {"header.d": "example.com"})],
    ),
]


@pytest.mark.parametrize(
    ("value", "authserv_id", "expected"),
    [p[1:] for p in PARSED],
    ids=[p[0] for p in PARSED],
)
def test_parse(value: str, authserv_id: str, expected: list[tuple[str, str, dict[str, str]]]):
    parsed = parse_authentication_results(value)
    assert parsed is not None
    assert parsed.authserv_id == authserv_id
    assert [(r.method, r.result) for r in parsed.results] == [(m, r) for m, r, _ in expected]
    for result, (_, _, properties) in zip(parsed.results, expected, strict=True):
        for name, value_ in properties.items():
            assert result.get(name) == value_


@pytest.mark.parametrize(
    "value",
    ["", "   ", "; dkim=pass header.d=example.com", "two words; dkim=pass", "a b c"],
)
def test_not_a_header(value: str):
    assert parse_authentication_results(value) is None


def test_unclosed_comment_and_quote_do_not_raise():
    assert parse_authentication_results("mx.example.com; dkim=pass (oops header.d=x") is not None
    assert parse_authentication_results('mx.example.com; dkim=pass reason="oops') is not None


def test_parsed_values_are_frozen():
    parsed = parse_authentication_results("mx.example.com; dkim=pass header.d=example.com")
    assert parsed == AuthResults(
        "mx.example.com", (AuthResult("dkim", "pass", {"header.d": "example.com"}),)
    )
    with pytest.raises(TypeError):
        parsed.results[0].properties["header.d"] = "evil.example"  # type: ignore[index]


# -- verdicts ------------------------------------------------------------------------------

TRUSTED_IDS = ("mx.google.com", "mail.example.org", "mx.example.com")

VERDICTS = [
    # (name, header values in message order, From domain, trusted?, reason contains)
    (
        "gmail dmarc pass",
        [GMAIL],
        "example.com",
        True,
        "dmarc=pass for example.com from mx.google.com",
    ),
    (
        "opendmarc",
        [OPENDMARC],
        "example.com",
        True,
        "dmarc=pass for example.com from mail.example.org",
    ),
    (
        "opendkim",
        [OPENDKIM],
        "example.com",
        True,
        "dkim=pass for example.com aligned with example.com",
    ),
    ("rspamd", [RSPAMD], "example.com", True, "dmarc=pass"),
    ("from domain upper case", [OPENDMARC], "EXAMPLE.COM.", True, "dmarc=pass"),
    ("from address given", [OPENDMARC], "alice@example.com", True, "dmarc=pass"),
    (
        "authserv-id case-insensitive",
        ["MAIL.EXAMPLE.ORG; dkim=pass header.d=example.com"],
        "example.com",
        True,
        "dkim=pass",
    ),
    (
        "version number",
        ["mx.example.com 1; dkim=pass header.d=example.com"],
        "example.com",
        True,
        "dkim=pass",
    ),
    (
        "dkim header.i only",
        ["mx.example.com; dkim=pass header.i=@example.com"],
        "example.com",
        True,
        "dkim=pass for example.com",
    ),
    (
        "dkim header.i with local part",
        ["mx.example.com; dkim=pass header.i=bounces@mail.example.com"],
        "example.com",
        True,
        "dkim=pass for mail.example.com aligned with example.com",
    ),
    (
        "dmarc header.from in upper case",
        ["mx.example.com; dmarc=pass header.from=EXAMPLE.com"],
        "example.com",
        True,
        "dmarc=pass for example.com",
    ),
    # subdomain alignment, both ways, and under a country second level
    (
        "dkim parent of from",
        ["mx.example.com; dkim=pass header.d=example.com"],
        "support.example.com",
        True,
        "aligned",
    ),
    (
        "dkim child of from",
        ["mx.example.com; dkim=pass header.d=mail.example.com"],
        "example.com",
        True,
        "aligned",
    ),
    (
        "dkim sibling subdomains",
        ["mx.example.com; dkim=pass header.d=mail.example.com"],
        "eu.example.com",
        True,
        "aligned",
    ),
    (
        "co.uk subdomain",
        ["mx.example.com; dkim=pass header.d=mail.example.co.uk"],
        "example.co.uk",
        True,
        "aligned",
    ),
    # not trusted
    (
        "forged by sender",
        ["evil.example; dmarc=pass header.from=example.com; dkim=pass header.d=example.com"],
        "example.com",
        False,
        "no Authentication-Results from a trusted authserv-id (ignored: evil.example)",
    ),
    (
        "forged below ours",
        [
            "mx.example.com; dkim=fail header.d=example.com; dmarc=fail header.from=example.com",
            "evil.example; dmarc=pass header.from=example.com",
        ],
        "example.com",
        False,
        "dmarc=fail for example.com from mx.example.com",
    ),
    (
        "trusted id as a subdomain of an untrusted one is not ours",
        ["mx.example.com.evil.example; dmarc=pass header.from=example.com"],
        "example.com",
        False,
        "no Authentication-Results from a trusted authserv-id",
    ),
    (
        "id inside a comment is not the id",
        ["(mx.example.com) evil.example; dmarc=pass header.from=example.com"],
        "example.com",
        False,
        "ignored: evil.example",
    ),
    (
        "microsoft without authserv-id",
        [MICROSOFT],
        "example.com",
        False,
        "ignored: (no authserv-id)",
    ),
    ("no headers", [], "example.com", False, "no Authentication-Results from a trusted"),
    ("none", ["mx.example.com; none"], "example.com", False, "(none)"),
    (
        "dkim pass for another domain",
        ["mx.example.com; dkim=pass header.d=other.org"],
        "example.com",
        False,
        "dkim=pass for other.org is not aligned with example.com",
    ),
    (
        "dkim pass for the shared second level",
        ["mx.example.com; dkim=pass header.d=co.uk"],
        "example.co.uk",
        False,
        "not aligned",
    ),
    (
        "dkim pass for a look-alike suffix",
        ["mx.example.com; dkim=pass header.d=notexample.com"],
        "example.com",
        False,
        "not aligned",
    ),
    (
        "dkim pass for another co.uk",
        ["mx.example.com; dkim=pass header.d=other.co.uk"],
        "example.co.uk",
        False,
        "not aligned",
    ),
    (
        "dkim pass without a domain",
        ["mx.example.com; dkim=pass"],
        "example.com",
        False,
        "dkim=pass for an unnamed domain is not aligned",
    ),
    (
        "dkim fail",
        ["mx.example.com; dkim=fail (bad signature) header.d=example.com"],
        "example.com",
        False,
        "no dmarc=pass or aligned dkim=pass for example.com (dkim=fail)",
    ),
    (
        "spf pass alone",
        ["mx.example.com; spf=pass smtp.mailfrom=example.com"],
        "example.com",
        False,
        "(spf=pass)",
    ),
    (
        "dmarc fail outweighs dkim pass",
        ["mx.example.com; dkim=pass header.d=example.com; dmarc=fail header.from=example.com"],
        "example.com",
        False,
        "dmarc=fail for example.com",
    ),
    (
        "dmarc pass without header.from",
        ["mx.example.com; dmarc=pass"],
        "example.com",
        False,
        "dmarc=pass without header.from does not name example.com",
    ),
    (
        "dmarc pass with an empty header.from",
        ["mx.example.com; dmarc=pass header.from="],
        "example.com",
        False,
        "dmarc=pass without header.from",
    ),
    (
        "dmarc pass without header.from beside an unaligned dkim pass",
        ["mx.example.com; dkim=pass header.d=other.org; dmarc=pass"],
        "example.com",
        False,
        "dmarc=pass without header.from",
    ),
    (
        "dmarc fail without header.from outweighs dkim pass",
        ["mx.example.com; dkim=pass header.d=example.com; dmarc=fail"],
        "example.com",
        False,
        "dmarc=fail for example.com from mx.example.com (without header.from)",
    ),
    (
        "dkim pass with empty domains",
        ['mx.example.com; dkim=pass header.d="" header.i="@"'],
        "example.com",
        False,
        "dkim=pass for an unnamed domain is not aligned",
    ),
    (
        "dmarc pass for another domain",
        ["mx.example.com; dmarc=pass header.from=other.org"],
        "example.com",
        False,
        "dmarc=pass for other.org does not match example.com",
    ),
    (
        "dmarc pass for a subdomain is not the From domain",
        ["mx.example.com; dmarc=pass header.from=mail.example.com"],
        "example.com",
        False,
        "does not match",
    ),
    (
        "dkim neutral, policy none",
        ["mx.example.com; dkim=neutral header.d=example.com; dmarc=none header.from=example.com"],
        "example.com",
        False,
        "(dkim=neutral, dmarc=none)",
    ),
    ("no from domain", [GMAIL], "", False, "the mail has no From domain"),
    (
        "garbage header",
        ["this is not; an authentication result"],
        "example.com",
        False,
        "no Authentication-Results from a trusted authserv-id",
    ),
]


@pytest.mark.parametrize(
    ("values", "from_domain", "trusted", "reason"),
    [v[1:] for v in VERDICTS],
    ids=[v[0] for v in VERDICTS],
)
def test_verdict(values: list[str], from_domain: str, trusted: bool, reason: str):
    verdict = authentication_verdict(values, from_domain, TRUSTED_IDS)
    assert verdict.trusted is trusted, verdict.reason
    assert reason in verdict.reason


OPENDMARC_RESULT = "; dmarc=pass header.from=example.com"

AUTHSERV_IDS = [
    # (name, authserv-id as the header writes it, configured ids, believed?)
    ("quoted in the header", '"mx.example.com"', ["mx.example.com"], True),
    ("quoted in the config", "mx.example.com", ['"mx.example.com"'], True),
    ("quoted and upper case in both", '"MX.Example.COM"', [' "mx.EXAMPLE.com" '], True),
    ("upper case in the header and the config", "MX.EXAMPLE.COM", ["Mx.Example.Com"], True),
    ("quoted with a version", '"MX.example.com" 1', ["mx.example.com"], True),
    ("trailing dot", "mx.example.com.", ["mx.example.com"], False),
    ("trailing dot inside quotes", '"mx.example.com."', ["mx.example.com"], False),
    ("trailing dot in the config only", "mx.example.com", ["mx.example.com."], False),
    ("space inside quotes", '"mx.example.com "', ["mx.example.com"], False),
    ("leading space inside quotes", '" mx.example.com"', ["mx.example.com"], False),
    ("half quoted", 'mx."example".com', ["mx.example.com"], False),
    ("quoted part then text", '"mx.example".com', ["mx.example.com"], False),
    ("backslash escape inside quotes", '"mx.exam\\ple.com"', ["mx.example.com"], False),
    ("kelvin sign lowers to k", "MX.\u212aUNDE.EXAMPLE", ["mx.kunde.example"], False),
    ("cyrillic a", "mx.ex\u0430mple.com", ["mx.example.com"], False),
    ("digit one for l", "mx.examp1e.com", ["mx.example.com"], False),
    ("quoted version", 'mx.example.com "1"', ["mx.example.com"], False),
    ("non-ascii version digit", "mx.example.com \u0661", ["mx.example.com"], False),
]


@pytest.mark.parametrize(
    ("authserv_id", "configured", "believed"),
    [a[1:] for a in AUTHSERV_IDS],
    ids=[a[0] for a in AUTHSERV_IDS],
)
def test_authserv_id_matching(authserv_id: str, configured: list[str], believed: bool):
    """RFC 8601: case-insensitive, quoted-string or not; any other difference is a forgery."""
    verdict = authentication_verdict([authserv_id + OPENDMARC_RESULT], "example.com", configured)
    assert verdict.trusted is believed, verdict.reason


def test_dmarc_pass_from_a_second_trusted_header_counts():
    values = ["mail.example.org; dkim=pass header.d=other.org", OPENDMARC]
    assert authentication_verdict(values, "example.com", TRUSTED_IDS).trusted


def test_without_configured_ids_nothing_is_believed():
    verdict = authentication_verdict([GMAIL, OPENDMARC], "example.com", ())
    assert verdict == AuthVerdict(
        False,
        "no Authentication-Results from a trusted authserv-id"
        " (ignored: mx.google.com, mail.example.org)",
    )


def test_empty_configured_id_does_not_believe_headers_without_one():
    assert not authentication_verdict([MICROSOFT], "example.com", ["", "  "]).trusted


def test_configured_ids_are_case_insensitive():
    assert authentication_verdict([OPENDMARC], "example.com", ["Mail.Example.ORG"]).trusted


def test_idn_from_domain():
    value = "mx.example.com; dmarc=pass header.from=xn--mller-kva.de"
    assert authentication_verdict([value], "müller.de", TRUSTED_IDS).trusted


def test_ignored_ids_are_cut_in_the_reason():
    verdict = authentication_verdict(["x" * 500 + "; dmarc=pass"], "example.com", TRUSTED_IDS)
    assert not verdict.trusted
    assert len(verdict.reason) < 200


@pytest.mark.parametrize(
    ("domain", "organizational"),
    [
        ("example.com", "example.com"),
        ("mail.example.com", "example.com"),
        ("a.b.example.com", "example.com"),
        ("example.co.uk", "example.co.uk"),
        ("mail.example.co.uk", "example.co.uk"),
        ("mail.example.com.au", "example.com.au"),
        ("example.ac.jp", "example.ac.jp"),
        ("mail.example.org.uk", "example.org.uk"),
        ("www.co.example", "co.example"),  # "co" under a long TLD is a name, not a registry
        ("Mail.EXAMPLE.com.", "example.com"),
        ("com", "com"),
    ],
)
def test_organizational_domain(domain: str, organizational: str):
    assert organizational_domain(domain) == organizational


@pytest.mark.parametrize(
    ("signing", "sender", "aligned"),
    [
        ("example.com", "example.com", True),
        ("example.com", "a.example.com", True),
        ("a.example.com", "example.com", True),
        ("a.example.com", "b.example.com", True),
        ("example.com", "example.org", False),
        ("example.co.uk", "other.co.uk", False),
        ("co.uk", "example.co.uk", False),
        ("com", "example.com", False),
        ("", "example.com", False),
        ("example.com", "", False),
    ],
)
def test_is_aligned(signing: str, sender: str, aligned: bool):
    assert is_aligned(signing, sender) is aligned
