"""The outbound-URL guard (security.md §1d, §5 items 19-20): what it refuses, what the operator
can open, and that the address it checks is the one a request goes to."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from clew.core.errors import InvalidInput, UrlNotAllowed
from clew.core.netguard import OutboundPolicy, Resolver, check_url, classify, parse_url, post

CLOSED = OutboundPolicy()
PRIVATE_OPEN = OutboundPolicy(allow_private=True)


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"no DNS lookup expected for {host}")


def resolving_to(*addresses: str) -> Resolver:
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("ftp://example.com/", id="ftp"),
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("gopher://127.0.0.1:6379/_", id="gopher"),
        pytest.param("//example.com/", id="no-scheme"),
        pytest.param("http://", id="no-host"),
        pytest.param("http:///path", id="empty-host"),
        pytest.param("http://a@example.com/", id="userinfo"),
        pytest.param("http://user:pw@example.com/", id="user-and-password"),
        pytest.param("http://example.com@169.254.169.254/", id="userinfo-hides-the-host"),
        pytest.param("http://example.com/#frag", id="fragment"),
        pytest.param("http://exa mple.com/", id="space"),
        pytest.param("http://example.com/\n", id="newline"),
        pytest.param("http://example.com\\@169.254.169.254/", id="backslash"),
        pytest.param("http://example.com:0/", id="port-0"),
        pytest.param("http://example.com:99999/", id="port-too-big"),
        pytest.param("http://example.com:80a/", id="port-not-a-number"),
        pytest.param("http://[::1/", id="unclosed-bracket"),
        pytest.param("http://[fe80::1%25eth0]/", id="ipv6-zone"),
        pytest.param("http://%31%32%37.0.0.1/", id="percent-encoded-host"),
        pytest.param("http://ex_ample.com/", id="underscore"),
        pytest.param("http://-example.com/", id="leading-hyphen"),
        pytest.param("http://" + "a" * 64 + ".com/", id="label-too-long"),
        pytest.param("http://example.com/" + "a" * 2048, id="url-too-long"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(UrlNotAllowed):
        check_url(url, PRIVATE_OPEN, no_dns)


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("2852039166", id="decimal-169.254.169.254"),
        pytest.param("0xa9fea9fe", id="hex-169.254.169.254"),
        pytest.param("0xA9FEA9FE", id="hex-upper"),
        pytest.param("0251.0376.0251.0376", id="octal-169.254.169.254"),
        pytest.param("0xa9.0xfe.0xa9.0xfe", id="dotted-hex"),
        pytest.param("169.254.43518", id="three-part"),
        pytest.param("169.16689662", id="two-part"),
        pytest.param("0x7f000001", id="hex-127.0.0.1"),
        pytest.param("2130706433", id="decimal-127.0.0.1"),
        pytest.param("017700000001", id="octal-127.0.0.1"),
        pytest.param("127.1", id="short-127.0.0.1"),
        pytest.param("127.0.0.01", id="leading-zero"),
        pytest.param("127.0.0.1.", id="trailing-dot"),
        pytest.param("1.2.3.256", id="out-of-range"),
        pytest.param("example.0x10", id="numeric-last-label"),
    ],
)
def test_numeric_hosts_in_other_spellings_are_refused_even_when_open(host: str) -> None:
    """Parsers disagree about these (glibc and browsers read them as IPv4, ``ipaddress`` does
    not), so none of them is accepted, whatever the policy."""
    for policy in (CLOSED, PRIVATE_OPEN):
        with pytest.raises(UrlNotAllowed, match="dotted-decimal"):
            check_url(f"http://{host}/latest/meta-data/", policy, no_dns)


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        pytest.param("169.254.169.254", "link-local", id="metadata"),
        pytest.param("[::ffff:169.254.169.254]", "link-local", id="metadata-v4-mapped"),
        pytest.param("[::ffff:a9fe:a9fe]", "link-local", id="metadata-v4-mapped-hex"),
        pytest.param("[64:ff9b::a9fe:a9fe]", "link-local", id="metadata-nat64"),
        pytest.param("[2002:a9fe:a9fe::1]", "link-local", id="metadata-6to4"),
        pytest.param("[fe80::1]", "link-local", id="ipv6-link-local"),
        pytest.param("127.0.0.1:5432", "loopback", id="loopback-postgres"),
        pytest.param("127.8.9.1", "loopback", id="loopback-range"),
        pytest.param("[::1]", "loopback", id="ipv6-loopback"),
        pytest.param("[::ffff:127.0.0.1]", "loopback", id="loopback-v4-mapped"),
        pytest.param("10.0.0.1", "private", id="rfc1918-10"),
        pytest.param("172.16.5.4", "private", id="rfc1918-172"),
        pytest.param("192.168.1.1", "private", id="rfc1918-192"),
        pytest.param("[fc00::1]", "private", id="ula-fc"),
        pytest.param("[fd12:3456::1]", "private", id="ula-fd"),
        pytest.param("100.64.0.1", "cgnat", id="cgnat"),
        pytest.param("0.0.0.0", "unspecified", id="unspecified"),
        pytest.param("[::]", "unspecified", id="ipv6-unspecified"),
        pytest.param("224.0.0.1", "multicast", id="multicast"),
        pytest.param("[ff02::1]", "multicast", id="ipv6-multicast"),
        pytest.param("240.0.0.1", "reserved", id="class-e"),
        pytest.param("255.255.255.255", "reserved", id="broadcast"),
        pytest.param("192.0.2.10", "reserved", id="documentation"),
        pytest.param("[::a9fe:a9fe]", "reserved", id="ipv4-compatible"),
    ],
)
def test_non_public_addresses_are_refused(host: str, kind: str) -> None:
    with pytest.raises(UrlNotAllowed) as caught:
        check_url(f"http://{host}/latest/meta-data/iam/", CLOSED, no_dns)
    assert caught.value.details["reason"] == kind
    assert host not in caught.value.message  # messages never echo input


def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    with pytest.raises(UrlNotAllowed) as caught:
        check_url("http://localhost:8080/hook", CLOSED)  # the system resolver
    assert caught.value.details["reason"] == "loopback"


def test_every_resolved_address_must_be_allowed() -> None:
    mixed = resolving_to("93.184.216.34", "10.0.0.7")
    with pytest.raises(UrlNotAllowed, match="private"):
        check_url("https://hooks.example.com/", CLOSED, mixed)


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UrlNotAllowed, match="does not resolve"):
        check_url("https://no-such-host.invalid/", CLOSED)
    with pytest.raises(UrlNotAllowed, match="does not resolve"):
        check_url("https://hooks.example.com/", CLOSED, resolving_to())


def test_public_destinations_are_pinned_to_the_checked_address() -> None:
    dest = check_url("https://Hooks.Example.com/a/b?x=1", CLOSED, resolving_to("93.184.216.34"))
    assert str(dest.address) == "93.184.216.34"
    assert dest.connect_url == "https://93.184.216.34:443/a/b?x=1"
    assert dest.url.host_header == "hooks.example.com"
    assert dest.url.redacted() == "https://hooks.example.com/a/b"
    v6 = check_url("http://h.example.com:8080", CLOSED, resolving_to("2606:4700::1"))
    assert v6.connect_url == "http://[2606:4700::1]:8080/"
    assert v6.url.host_header == "h.example.com:8080"
    assert check_url("http://[2606:4700::1]/", CLOSED, no_dns).url.host_header == "[2606:4700::1]"


def test_idna_hosts_are_encoded() -> None:
    dest = check_url("https://bücher.example/", CLOSED, resolving_to("93.184.216.34"))
    assert dest.url.host == "xn--bcher-kva.example"


def test_allow_private_opens_loopback_and_lan_but_not_metadata() -> None:
    for url in ("http://127.0.0.1:9/", "http://10.1.2.3/", "http://100.64.0.1/", "http://[::1]/"):
        check_url(url, PRIVATE_OPEN, no_dns)
    check_url("http://localhost:9/", PRIVATE_OPEN)
    for url in (
        "http://169.254.169.254/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
    ):
        with pytest.raises(UrlNotAllowed):
            check_url(url, PRIVATE_OPEN, no_dns)


def test_the_allow_list_opens_named_hosts_and_networks() -> None:
    policy = OutboundPolicy.parse(False, " hooks.internal, *.corp.example ,169.254.0.0/16,fd00::/8")
    check_url("http://hooks.internal/", policy, resolving_to("10.0.0.5"))
    check_url("http://ci.corp.example/", policy, resolving_to("192.168.0.9"))
    check_url("http://169.254.169.254/", policy, no_dns)
    check_url("http://[::ffff:169.254.1.1]/", policy, no_dns)
    check_url("http://[fd00::5]/", policy, no_dns)
    for url, addr in [("http://other.internal/", "10.0.0.5"), ("http://corp.example/", "10.0.0.1")]:
        with pytest.raises(UrlNotAllowed):
            check_url(url, policy, resolving_to(addr))
    with pytest.raises(UrlNotAllowed, match="unspecified"):
        check_url("http://hooks.internal/", policy, resolving_to("0.0.0.0"))


@pytest.mark.parametrize("entry", ["not a host", "http://x", "a..b", "10.0.0.0/33"])
def test_a_bad_allow_list_is_refused_at_startup(entry: str) -> None:
    with pytest.raises(InvalidInput, match="CLEW_WEBHOOK_ALLOWED_HOSTS"):
        OutboundPolicy.parse(False, entry)


def test_classify_public_addresses() -> None:
    import ipaddress

    for address in ("93.184.216.34", "8.8.8.8", "2606:4700::1"):
        assert classify(ipaddress.ip_address(address)) is None


def test_parse_url_keeps_path_and_query() -> None:
    parsed = parse_url("HTTPS://example.com:8443")
    assert (parsed.scheme, parsed.host, parsed.port, parsed.target) == (
        "https",
        "example.com",
        8443,
        "/",
    )
    assert parse_url("http://example.com/p?").target == "/p?"


# ---- the wire ------------------------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes]] = []
    status = 204

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.seen.append((self.path, self.headers["Host"], body))
        self.send_response(self.status)
        if self.status == 302:
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[int, type[_Recorder]]]:
    handler = type("Handler", (_Recorder,), {"seen": [], "status": 204})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], handler
    httpd.shutdown()
    httpd.server_close()


def test_post_connects_to_the_pinned_address_with_the_original_host(
    server: tuple[int, type[_Recorder]],
) -> None:
    port, handler = server
    policy = OutboundPolicy.parse(False, "hooks.internal")
    status = post(
        f"http://hooks.internal:{port}/in?q=1",
        b'{"a":1}',
        {"Content-Type": "application/json"},
        policy=policy,
        timeout_s=5,
        resolver=resolving_to("127.0.0.1"),
    )
    assert status == 204
    assert handler.seen == [("/in?q=1", f"hooks.internal:{port}", b'{"a":1}')]


def test_post_does_not_follow_redirects(server: tuple[int, type[_Recorder]]) -> None:
    port, handler = server
    handler.status = 302
    status = post(f"http://127.0.0.1:{port}/", b"{}", {}, policy=PRIVATE_OPEN, timeout_s=5)
    assert status == 302 and len(handler.seen) == 1


def test_post_refuses_before_connecting(server: tuple[int, type[_Recorder]]) -> None:
    port, handler = server
    with pytest.raises(UrlNotAllowed):
        post(f"http://127.0.0.1:{port}/", b"{}", {}, policy=CLOSED, timeout_s=5)
    with pytest.raises(UrlNotAllowed):
        post(f"http://localhost:{port}/", b"{}", {}, policy=CLOSED, timeout_s=5)
    assert handler.seen == []


def test_post_ignores_proxy_variables(
    server: tuple[int, type[_Recorder]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, handler = server
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://192.0.2.1:3128")
    assert post(f"http://127.0.0.1:{port}/", b"{}", {}, policy=PRIVATE_OPEN, timeout_s=5) == 204
    assert len(handler.seen) == 1
