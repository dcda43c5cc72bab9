"""Feed URLs and addresses: what a user may give as a feed (``feed_url``), how it
is named in logs and messages (``feed_host``: never the path or query, which may
hold a secret token), and which resolved addresses may be fetched
(``is_public_address``): the checks the fetcher (``adapters.feeds.fetch``) makes
before and at every hop, and the errors it raises for them."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from calendar_domain.errors import InvalidValue, ProviderProtocolError, ProviderUnavailable

MAX_URL_LENGTH = 2048
_SCHEMES = {"http": "http", "https": "https", "webcal": "https", "webcals": "https"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class FeedRefused(ProviderProtocolError):
    """The feed cannot be fetched as it is: a 4xx answer, too many redirects, a
    redirect to another scheme, a body above the cap, an undecodable body. Asking
    again soon will not help."""


class FeedAddressNotAllowed(FeedRefused):
    """The feed's host resolves to an address that is not public (loopback, private,
    link-local, ...): the service does not fetch from its own network."""


# --- URLs -------------------------------------------------------------------------------


def feed_url(field: str, text: str) -> str:
    """Validates and normalises a URL a user typed: strip; scheme case-insensitive among
    http, https, webcal (-> https), webcals (-> https); a host is required; no fragment
    (dropped); at most 2,048 characters; no whitespace/control characters. Raises
    calendar_domain.errors.InvalidValue(field, message) with a message saying what is
    wrong (never echoing a long URL back; echo at most the scheme and host).
    Host names are lowercased, default ports dropped. Returns the normalised https/http URL."""
    text = text.strip()
    if not text:
        raise InvalidValue(field, "the feed URL is empty")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidValue(field, f"the feed URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 or 0x80 <= ord(c) < 0xA0 for c in text):
        raise InvalidValue(field, "the feed URL contains whitespace or control characters")
    parts = urlsplit(text)
    given = parts.scheme.lower()
    if "://" not in text or given not in _SCHEMES:
        shown = f" {given[:20]}" if given and "://" in text else ""
        raise InvalidValue(
            field, f"the feed URL's scheme{shown} is not supported: it must start with https://, http://, webcal:// or webcals://"
        )
    scheme = _SCHEMES[given]
    host = parts.hostname or ""
    if not host:
        raise InvalidValue(field, f"the feed URL has no host (after {given}://)")
    host = _host_name(field, host)
    try:
        port = parts.port
    except ValueError:
        raise InvalidValue(field, f"the feed URL for {host[:255]} has an invalid port") from None
    if port == 0:
        raise InvalidValue(field, f"the feed URL for {host[:255]} has an invalid port")
    netloc = _netloc(parts.netloc, host, None if port == _DEFAULT_PORTS[scheme] else port)
    path = _ascii(parts.path) or "/"
    return urlunsplit((scheme, netloc, path, _ascii(parts.query), ""))


def feed_host(url: str) -> str:
    """"host" or "host:port" for display/logs (URLs may hold secret tokens: only the host is ever logged)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


def _host_name(field: str, host: str) -> str:
    """Lowercased; an IP literal as is, a name in its ASCII (IDNA) form."""
    host = host.lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if host.isascii():
        if not all(c.isalnum() or c in "-._" for c in host):
            raise InvalidValue(field, "the feed URL's host name contains characters a host name cannot have")
        return host.rstrip(".") or host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidValue(field, "the feed URL's host name is not a valid international domain name") from None


def _netloc(given: str, host: str, port: int | None) -> str:
    """userinfo (kept as given) @ host (IPv6 in brackets) : port (when not the default)."""
    userinfo, at, _ = given.rpartition("@")
    shown = f"[{host}]" if ":" in host else host
    return f"{_ascii(userinfo)}{at}{shown}{f':{port}' if port else ''}"


def _ascii(text: str) -> str:
    """Percent-encodes what is not ASCII; leaves every reserved character and escape alone."""
    return text if text.isascii() else quote(text, safe="!#$%&'()*+,/:;=?@[]~")


# --- addresses --------------------------------------------------------------------------


def is_public_address(address: str) -> bool:
    """Whether an IP address is public (globally routable): not loopback, private,
    link-local, multicast, reserved, unspecified, shared (CGNAT 100.64/10), ...
    An IPv6 address that carries an IPv4 one (IPv4-mapped, NAT64, 6to4, Teredo) is
    judged as that IPv4 address too."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
        if ip.ipv4_mapped is not None:
            return True
    return bool(
        ip.is_global
        and not ip.is_multicast
        and not ip.is_loopback
        and not ip.is_link_local
        and not ip.is_private
        and not ip.is_reserved
        and not ip.is_unspecified
    )


def getaddrinfo_addresses(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for a TCP connection, in the resolver's order."""
    found: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found
