"""What a ``--db`` URL names, and every message about one without its secrets.

:func:`redact` is the one place passwords are taken out of text: every
:class:`~wfdsl.errors.StoreError` a store raises about a connection string and
every message the command line prints about ``--db`` go through it. It hides

* the password of a URL (``postgresql://user:PASSWORD@host/db``) and the
  value of any setting but libpq's other parameters (``password=``,
  ``sslpassword=``, a misspelt ``pasword=``), in URL queries and in libpq's
  keyword form (``host=db password=PASSWORD``), wherever they appear in the text;
* every other appearance of those passwords, and of ``$PGPASSWORD``, in the
  text: libpq quotes fragments of a connection string it cannot parse (a
  password with a space, a bad percent-escape), so a quoted fragment that is
  part of a password, or holds one, is hidden too.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

__all__ = [
    "LIBPQ_KEYWORDS",
    "MASK",
    "SHOWN_KEYS",
    "is_keyword_dsn",
    "is_postgres",
    "redact",
    "secrets_in",
]

#: What a hidden secret is replaced by.
MASK = "***"

#: libpq's connection parameters (PostgreSQL 16's list): a string that starts
#: with one of them and ``=`` is a keyword connection string.
LIBPQ_KEYWORDS = frozenset(
    [
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "passfile",
        "require_auth",
        "channel_binding",
        "connect_timeout",
        "client_encoding",
        "options",
        "application_name",
        "fallback_application_name",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "replication",
        "gssencmode",
        "sslmode",
        "requiressl",
        "sslcompression",
        "sslcert",
        "sslkey",
        "sslpassword",
        "sslcertmode",
        "sslrootcert",
        "sslcrl",
        "sslcrldir",
        "sslsni",
        "requirepeer",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "krbsrvname",
        "gsslib",
        "gssdelegation",
        "service",
        "target_session_attrs",
        "load_balance_hosts",
    ]
)

#: Settings whose values are shown: libpq's, but for its passwords, and
#: wfdsl's own ``schema``. Any other value (a password, a misspelt
#: ``pasword=``) is hidden.
SHOWN_KEYS = (LIBPQ_KEYWORDS - {"password", "sslpassword"}) | {"schema"}

_POSTGRES_SCHEMES = ("postgresql", "postgres")
_KEYWORD = re.compile(r"\s*([A-Za-z_]+)\s*=")
#: ``scheme://user:PASSWORD@``: the userinfo ends at the last ``@`` before the path.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s:]*:)(?P<pw>[^/?#\s]*)(?=@)")
#: ``key=VALUE`` in a URL query (up to ``&``) or a keyword string (a quoted
#: value, or up to the next space); a ``:`` that ends a message's prefix is not
#: part of it.
_SETTING = re.compile(
    r"(?P<head>\b(?P<key>[A-Za-z_]+)\s*=\s*)"
    r"(?P<pw>'(?:[^'\\]|\\.)*'?|[^\s&'\"]*?(?=:\s|[\s&'\"]|$))"
)
_QUOTED = re.compile(r'"([^"]*)"')


def is_keyword_dsn(text: str) -> bool:
    """Whether ``text`` is a libpq keyword connection string (``host=db user=app``)."""
    m = _KEYWORD.match(text)
    return m is not None and m.group(1).lower() in LIBPQ_KEYWORDS


def is_postgres(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (a ``postgresql://`` or
    ``postgres://`` URL, or a keyword connection string)."""
    scheme, sep, _ = url.partition("://")
    return (bool(sep) and scheme.lower() in _POSTGRES_SCHEMES) or is_keyword_dsn(url)


def secrets_in(dsn: str) -> list[str]:
    """The passwords ``dsn`` holds or may hold, as written and decoded, longest
    first: its URL's password, and the value of every setting not in
    :data:`SHOWN_KEYS`. In a keyword string that libpq cannot parse, everything
    from such a value up to the next setting counts (a password with a space)."""
    found: list[str] = []
    for m in _USERINFO.finditer(dsn):
        found.append(m.group("pw"))
    keyword_form = "://" not in dsn
    for m in _SETTING.finditer(dsn):
        if m.group("key").lower() in SHOWN_KEYS:
            continue
        value = m.group("pw")
        found.append(value)
        if keyword_form:
            rest = dsn[m.end("pw") :]
            nxt = re.search(r"\s[A-Za-z_]+\s*=", rest)
            found.append(value + (rest[: nxt.start()] if nxt else rest))
        if value.startswith("'"):
            found.append(re.sub(r"\\(.)", r"\1", value.strip("'")))
    env = os.environ.get("PGPASSWORD")
    if env:
        found.append(env)
    found += [unquote(s) for s in found]
    unique = {s.strip() for s in found if s.strip()}
    return sorted(unique, key=len, reverse=True)


def redact(text: str, *dsns: str) -> str:
    """``text`` with every password hidden (see the module docstring); the
    passwords of each of ``dsns`` (and ``$PGPASSWORD``) wherever they appear."""
    secrets: list[str] = []
    for dsn in dsns:
        secrets += secrets_in(dsn)
    if not dsns:
        secrets += secrets_in("")

    def quoted(m: re.Match[str]) -> str:
        fragment = m.group(1)
        if fragment and any(fragment in s or s in fragment for s in secrets):
            return f'"{MASK}"'
        return m.group(0)

    text = _QUOTED.sub(quoted, text)
    # Longest first, before the patterns below shorten what they would match.
    for secret in secrets:
        if len(secret) >= 3:  # shorter ones would mask ordinary words; they are
            text = text.replace(secret, MASK)  # hidden where quoted, above, and below
    text = _USERINFO.sub(lambda m: m.group("head") + MASK, text)
    return _SETTING.sub(_hide_setting, text)


def _hide_setting(m: re.Match[str]) -> str:
    if m.group("key").lower() in SHOWN_KEYS or not m.group("pw"):
        return m.group(0)
    return m.group("head") + MASK
