"""The outbound-URL guard: every request Clew makes to a URL a user gave it goes through here.

A user-supplied URL (a webhook today, OpenLineage endpoints later) turns the server into a
client inside the operator's network. MLflow's webhook SSRF (CVE-2026-2393, security.md §1d) was
exactly that: ``http://169.254.169.254/…`` stored, then POSTed to on every event. The rules:

- **One parser, one canonical form.** ``http``/``https`` only, a host, no userinfo
  (``http://a@b``), no fragment, no control characters. A host that looks numeric must be plain
  dotted-decimal IPv4: ``2852039166``, ``0xa9fea9fe``, ``0251.0376.0251.0376`` and ``127.1`` are
  refused outright, because parsers disagree about them (glibc and browsers read them as
  169.254.169.254; Python's ``ipaddress`` does not).
- **Check what you connect to.** The host is resolved and *every* address must be public; the
  request then goes to the address that was checked (pinned), with the original ``Host`` header
  and TLS SNI, so a DNS answer that changes between check and connect (rebinding) cannot move it.
  IPv4-mapped, NAT64 and 6to4 IPv6 addresses are judged by the IPv4 address inside them.
- **No redirects, no proxies from the environment.** A ``302`` to the metadata service is just a
  failed attempt; ``HTTP_PROXY`` would connect somewhere other than the checked address.

What counts as non-public, and what the operator can open (``CLEW_WEBHOOK_ALLOW_PRIVATE``,
``CLEW_WEBHOOK_ALLOWED_HOSTS``), is in :class:`OutboundPolicy`.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from clew.core.errors import InvalidInput, UrlNotAllowed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``resolve(host, port)`` → the addresses a name stands for. Tests inject one to stage DNS
#: rebinding; the default asks the system resolver.
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f\\]")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
#: WHATWG: a host whose last label is a number (decimal, octal or 0x-hex) is an IPv4 address.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")

_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: Opened by ``allow_private``. Link-local (the cloud metadata address) and reserved ranges stay
#: closed unless named by CIDR; unspecified and multicast are never a destination.
OPENED_BY_ALLOW_PRIVATE = frozenset({"loopback", "private", "cgnat"})
_NEVER = frozenset({"unspecified", "multicast"})


def classify(address: IPAddress) -> str | None:
    """The kind of non-public address this is (``"loopback"``, ``"link-local"`` …), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(address):
            kind = classify(inner)
            if kind is not None:
                return kind
        if address.scope_id:
            return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if any(address in net for net in _PRIVATE):
        return "private"
    if address in _CGNAT:
        return "cgnat"
    if address.is_reserved or address.is_private or not address.is_global:
        return "reserved"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    inner = [address.ipv4_mapped, address.sixtofour]
    if address in _NAT64:
        inner.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in inner if a is not None]


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Which non-public destinations the operator has opened. The default opens none.

    ``allow_private`` opens loopback, RFC 1918 / ULA and CGNAT addresses (a receiver on the same
    host or LAN). ``allowed_hosts`` names hosts (``hooks.internal``, ``*.corp.example``) whose
    addresses are trusted whatever they are, and ``allowed_networks`` CIDRs that are opened,
    including link-local or reserved ranges. Unspecified and multicast addresses stay refused.
    """

    allow_private: bool = False
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, allow_private: bool = False, allow_list: str = "") -> OutboundPolicy:
        """Build from the settings' shapes: ``allow_list`` is comma-separated hosts and CIDRs."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in allow_list.split(","):
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = entry[2:] if entry.startswith("*.") else entry
            if not all(_LABEL.match(label) for label in name.split(".")):
                raise InvalidInput(
                    "CLEW_WEBHOOK_ALLOWED_HOSTS holds an entry that is neither a host name "
                    "nor a CIDR network"
                )
            hosts.add(entry)
        return cls(allow_private, frozenset(hosts), tuple(networks))

    def host_allowed(self, host: str) -> bool:
        host = host.rstrip(".")
        if host in self.allowed_hosts:
            return True
        return any(
            entry.startswith("*.") and host.endswith(entry[1:]) for entry in self.allowed_hosts
        )

    def refusal(self, address: IPAddress, *, host_allowed: bool = False) -> str | None:
        """Why ``address`` may not be connected to under this policy (its kind), or None."""
        kind = classify(address)
        if kind is None:
            return None
        if kind in _NEVER:
            return kind
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address):
            candidates += _embedded_ipv4(address)
        if any(a in net for a in candidates for net in self.allowed_networks):
            return None
        if host_allowed or (self.allow_private and kind in OPENED_BY_ALLOW_PRIVATE):
            return None
        return kind


@dataclass(frozen=True, slots=True)
class ParsedUrl:
    """A URL in the one canonical form the guard checks and the sender uses."""

    scheme: str
    host: str  # lower case, IDNA-encoded; an IPv6 literal without brackets
    port: int
    target: str  # path and query, as given ("/" if empty)
    literal: IPAddress | None  # the host, when it is an IP address

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    def redacted(self) -> str:
        """Scheme, host and path without the query: safe for audit logs and messages, since a
        query string often carries a token (Slack and Teams webhook URLs do)."""
        path = self.target.split("?", 1)[0]
        return f"{self.scheme}://{self.host_header}{path}"


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked URL and the address that was checked: connect there and nowhere else."""

    url: ParsedUrl
    address: IPAddress

    @property
    def connect_url(self) -> str:
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.url.scheme}://{host}:{self.url.port}{self.url.target}"


def parse_url(url: str) -> ParsedUrl:
    """Check a URL's syntax and return its canonical parts (no DNS, no policy).

    Raises:
        UrlNotAllowed: not an ``http(s)`` URL with a host, or one of the refused shapes.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UrlNotAllowed(f"The URL must be a string of 1 to {MAX_URL_LENGTH} characters")
    if _CONTROL_OR_SPACE.search(url):
        raise UrlNotAllowed("The URL contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlNotAllowed("The URL does not parse (bad host or port)") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UrlNotAllowed("Only http and https URLs are allowed")
    if "@" in parts.netloc:
        raise UrlNotAllowed("URLs with credentials (user@host) are not allowed")
    if parts.fragment or url.endswith("#"):
        raise UrlNotAllowed("URLs with a fragment (#…) are not allowed")
    if port == 0:
        raise UrlNotAllowed("The URL's port must be between 1 and 65535")
    host, literal = _parse_host(parts.netloc, parts.hostname or "")
    target = parts.path or "/"
    if parts.query or url.endswith("?"):
        target += "?" + parts.query
    return ParsedUrl(scheme, host, port or _DEFAULT_PORTS[scheme], target, literal)


def _parse_host(netloc: str, host: str) -> tuple[str, IPAddress | None]:
    if not host:
        raise UrlNotAllowed("The URL has no host")
    if "%" in host:
        raise UrlNotAllowed("Percent-encoded hosts and IPv6 zone ids are not allowed")
    if netloc.startswith("["):
        try:
            return host, ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise UrlNotAllowed("The URL's IPv6 address is malformed") from exc
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise UrlNotAllowed("The URL's host is not a valid host name") from exc
    labels = host.rstrip(".").split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        try:
            address = ipaddress.IPv4Address(host)
        except ValueError:
            address = None
        if address is None or str(address) != host:
            raise UrlNotAllowed(
                "A numeric host must be a dotted-decimal IPv4 address (a.b.c.d, no leading "
                "zeros, hex, octal or integer forms)"
            )
        return host, address
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UrlNotAllowed("The URL's host is not a valid host name")
    return host, None


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def check_url(
    url: str, policy: OutboundPolicy, resolver: Resolver = system_resolver
) -> Destination:
    """Parse, resolve and check ``url``; return where to connect.

    Every address the host resolves to must be allowed, not just the first: otherwise a name
    with one public and one private record would be let through half the time.

    Raises:
        UrlNotAllowed: bad syntax, a host that does not resolve, or a refused address.
    """
    parsed = parse_url(url)
    if parsed.literal is not None:
        addresses: list[IPAddress] = [parsed.literal]
    else:
        try:
            found = resolver(parsed.host, parsed.port)
            addresses = list(dict.fromkeys(ipaddress.ip_address(a) for a in found))
        except (OSError, UnicodeError, ValueError) as exc:
            raise UrlNotAllowed("The URL's host does not resolve") from exc
        if not addresses:
            raise UrlNotAllowed("The URL's host does not resolve")
    trusted = policy.host_allowed(parsed.host)
    for address in addresses:
        kind = policy.refusal(address, host_allowed=trusted)
        if kind is not None:
            raise UrlNotAllowed(
                f"The URL's host is or resolves to a {kind} address, which is not allowed "
                "(see CLEW_WEBHOOK_ALLOW_PRIVATE and CLEW_WEBHOOK_ALLOWED_HOSTS)",
                reason=kind,
            )
    first = addresses[0]
    if isinstance(first, ipaddress.IPv6Address) and first.ipv4_mapped is not None:
        first = first.ipv4_mapped
    return Destination(parsed, first)


class OutboundError(Exception):
    """The request was allowed but did not get an answer (refused, timed out, TLS failed)."""


@functools.lru_cache(maxsize=8)
def _tls_context(ca_bundle: str) -> ssl.SSLContext | bool:
    """Certificate checks on (always); an internal CA's bundle replaces the public CAs."""
    if not ca_bundle:
        return True
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise OutboundError(f"Cannot load CLEW_WEBHOOK_CA_BUNDLE {ca_bundle!r}: {exc}") from exc


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    policy: OutboundPolicy,
    timeout_s: float,
    resolver: Resolver = system_resolver,
    ca_bundle: str = "",
) -> int:
    """POST ``body`` to ``url`` through the guard; return the response's status code.

    The URL is checked (and resolved) on every call. The response body is never read: the
    status is all a caller learns, and a hostile server cannot make Clew buffer anything.
    HTTPS connects to the checked address with the URL's host as SNI, and the certificate is
    verified for that host name (against ``ca_bundle``'s CAs if given, else the public ones).

    Raises:
        UrlNotAllowed: the guard refused the URL.
        OutboundError: no HTTP answer (connection refused, timeout, TLS error …).
    """
    destination = check_url(url, policy, resolver)
    send_headers = {**headers, "Host": destination.url.host_header}
    extensions = {"sni_hostname": destination.url.host} if destination.url.scheme == "https" else {}
    try:
        with (
            httpx.Client(
                timeout=httpx.Timeout(timeout_s),
                follow_redirects=False,
                trust_env=False,
                verify=_tls_context(ca_bundle),
            ) as client,
            client.stream(
                "POST",
                destination.connect_url,
                content=body,
                headers=send_headers,
                extensions=extensions,
            ) as response,
        ):
            return response.status_code
    except httpx.HTTPError as exc:
        raise OutboundError(f"{type(exc).__name__}: {exc}"[:500]) from exc
