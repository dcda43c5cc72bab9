"""A fault-injecting HTTP reverse proxy in front of a real CalDAV server (tests only).

``FaultProxy`` listens on 127.0.0.1 (a free port) and forwards every method
(PROPFIND, REPORT, PUT, DELETE, GET, OPTIONS, MKCALENDAR, ... any token) with its
headers (Authorization, Depth, If-Match, If-None-Match, ...) and body to the
upstream server, and hands back the upstream status, headers and body. The
upstream's absolute URLs in XML/HTML/plain-text bodies and in ``Location`` /
``Content-Location`` headers are rewritten to the listener's own URL, and the
listener's URLs in request XML bodies and ``Destination`` are rewritten back, so
clients stay on the proxy. ``Accept-Encoding: identity`` is sent upstream: bodies
reach the client uncompressed. Cookies are neither stored nor added.

Faults (thread-safe; set, change or clear them while clients run) apply to the
requests their ``match`` accepts: a ``Match`` (method, path substring, body
substring) or any callable taking a ``RequestInfo``; ``None`` matches all.
``times`` bounds how many matching requests a rule acts on (``None``: until
``clear()``). Answering rules are tried in the order they were added; one delay
rule may hold a request before (or after) it is answered.

* ``fail_with(status, headers=, body=, times=, match=)``: answer instead of forwarding.
* ``refuse_sync_token(style, times=, match=, status=)``: sync-collection REPORTs with
  a non-empty token get the server's DAV:valid-sync-token refusal, as each sends it:
  "radicale" 403 text/xml, "xandikos" 412 text/xml, "icloud" 412 labelled text/plain
  (the only published report, forums.bitfire.at topic 1858; ``status=409`` if wanted).
* ``rewrite_answers(transform, match=, times=)``: forward, then pass the answer's
  body through ``transform``.
* ``delay(seconds, match=, times=, stage=)`` waits on an Event: ``release()`` ends
  it early; ``held`` / ``wait_until_held(n)`` tell when requests are being held.
* Log: ``requests`` (``LoggedRequest``), ``count(method, match)``,
  ``wait_for_count(n, method, match)``, ``reset_log()``.

``partition_redirect()`` starts a second listener that plays iCloud's
``pNN-caldav.icloud.com`` partition host: ``calendar-home-set`` hrefs answered by
the first listener point at the second one, which proxies the same upstream.
Both listeners share the faults and the request log (``LoggedRequest.listener``).
"""

from __future__ import annotations

import email.utils
import http.cookiejar
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Self

import requests
from requests.structures import CaseInsensitiveDict

from tests.support.proxy_plumbing import (
    NOT_FORWARDED,
    NOT_RETURNED,
    Answer,
    ListenerServer,
    LoggedRequest,
    Match,
    Matcher,
    ProxyHandler,
    RequestInfo,
    SyncTokenStyle,
    as_bytes,
    is_text,
    log_matches,
    matcher,
    point_home_at,
    refusal,
    rewrite,
    rewrite_text,
    send_answer,
    sync_token_of,
)

__all__ = ["FaultProxy", "LoggedRequest", "Match", "RequestInfo", "sync_token_of"]

PRIMARY = "primary"
PARTITION = "partition"


@dataclass
class _Rule:
    kind: str
    match: Callable[[RequestInfo], bool]
    remaining: int | None
    answer: Callable[[RequestInfo], Answer] | None = None
    seconds: float = 0.0
    stage: str = "request"
    released: threading.Event = field(default_factory=threading.Event)


class FaultProxy:
    """Reverse proxy to ``upstream`` (e.g. ``server.base_url``) with injectable faults."""

    def __init__(
        self, upstream: str, *, verify: bool | str = True, upstream_timeout: float = 30.0
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.verify = verify
        self.upstream_timeout = upstream_timeout
        self._cond = threading.Condition()
        self._rules: list[_Rule] = []
        self._log: list[LoggedRequest] = []
        self._held = 0
        self._holding: list[_Rule] = []  # delay rules with requests waiting on them
        self._partition_on = False
        self._servers: dict[str, ListenerServer] = {}
        self._hosts: dict[str, str] = {}
        self._threads: list[threading.Thread] = []
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies or netrc from the environment
        self._session.headers.clear()
        self._session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))

    @classmethod
    def for_server(cls, server: Any, **kwargs: Any) -> FaultProxy:
        """A proxy for a ``CalDAVTestServer`` (passes its ``verify_tls``)."""
        return cls(server.base_url, verify=server.verify_tls, **kwargs)

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> Self:
        self._listen(PRIMARY)
        return self

    def close(self) -> None:
        self.release()
        for server in self._servers.values():
            server.shutdown()
            server.drop_connections()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self._servers.clear()
        self._threads.clear()
        self._session.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _listen(self, listener: str) -> str:
        attrs = {"owner": self, "listener": listener}
        handler = type(f"{listener.title()}Handler", (ProxyHandler,), attrs)
        server = ListenerServer(handler)
        thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), daemon=True, name=f"fault-proxy-{listener}"
        )
        thread.start()
        self._servers[listener] = server
        self._threads.append(thread)
        return self._origin(listener) + "/"

    def _origin(self, listener: str, host: str | None = None) -> str:
        host = host or self._hosts.get(listener, "127.0.0.1")
        return f"http://{host}:{self._servers[listener].server_address[1]}"

    @property
    def url(self) -> str:
        """The first listener's base URL (``http://127.0.0.1:<port>/``)."""
        return self._origin(PRIMARY) + "/"

    @property
    def partition_url(self) -> str | None:
        """The partition listener's base URL, once ``partition_redirect()`` started it."""
        return self._origin(PARTITION) + "/" if PARTITION in self._servers else None

    def partition_redirect(self, enabled: bool = True, *, host: str = "127.0.0.1") -> str:
        """Start (once) the partition listener and point calendar-home-set at it;
        ``enabled=False`` stops the rewriting (the listener keeps serving).

        ``host`` names the partition listener in the URLs handed out (it always
        binds 127.0.0.1): "localhost" gives it a host name of its own, as iCloud's
        pNN-caldav host has - clients that only follow a change of host name (the
        caldav library) notice it then. Returns the partition listener's base URL.
        """
        with self._cond:
            if PARTITION not in self._servers:
                self._listen(PARTITION)
            self._hosts[PARTITION] = host
            self._partition_on = enabled
        return self._origin(PARTITION) + "/"

    # --- fault controls ----------------------------------------------------------

    def fail_with(
        self, status: int, *, headers: Mapping[str, str] | None = None, body: str | bytes = b"",
        times: int | None = None, match: Matcher = None,
    ) -> None:
        """Answer matching requests with ``status`` instead of forwarding them.
        A 401 without ``WWW-Authenticate`` gets iCloud's ``Basic realm="MMCalDav"``."""
        header_list = list((headers or {}).items())
        names = {name.lower() for name, _ in header_list}
        if status == 401 and "www-authenticate" not in names:
            header_list.append(("WWW-Authenticate", 'Basic realm="MMCalDav"'))
        if body and "content-type" not in names:
            header_list.append(("Content-Type", "text/plain; charset=utf-8"))
        answer: Answer = (status, header_list, as_bytes(body))
        self._add(_Rule(f"fail_with {status}", matcher(match), times, lambda _: answer))

    def refuse_sync_token(
        self, style: SyncTokenStyle, *, times: int | None = None, match: Matcher = None,
        status: int | None = None,
    ) -> None:
        """Refuse sync-collection REPORTs that carry a non-empty sync-token the way
        ``style`` does: "radicale" 403, "xandikos" 412, "icloud" 412 with text/plain
        (all with DAV:valid-sync-token). ``status`` overrides the status code."""
        narrower = matcher(match)

        def accepts(request: RequestInfo) -> bool:
            return (request.method.upper() == "REPORT" and sync_token_of(request.body) is not None
                    and narrower(request))  # fmt: skip

        self._add(_Rule(f"refuse_sync_token {style}", accepts, times, refusal(style, status)))

    def rewrite_answers(
        self, transform: Callable[[bytes], bytes], *, match: Matcher = None, times: int | None = None,
    ) -> None:
        """Forward matching requests and hand back the upstream's answer with its body
        passed through ``transform`` (e.g. a server whose ctag is missing or lies)."""

        def answer(request: RequestInfo) -> Answer:
            status, headers, payload = self._forward(request)
            return status, headers, transform(payload)

        self._add(_Rule("rewrite_answers", matcher(match), times, answer))

    def delay(
        self, seconds: float, *, match: Matcher = None, times: int | None = None,
        stage: Literal["request", "response"] = "request",
    ) -> None:
        """Hold matching requests up to ``seconds`` (``release()`` ends it early).
        ``stage="request"`` holds before forwarding; ``"response"`` forwards first and
        holds the answer (the upstream applied the request, the client may time out)."""
        self._add(_Rule("delay", matcher(match), times, seconds=seconds, stage=stage))

    def release(self) -> None:
        """Let every held request go on now and drop the delay rules."""
        with self._cond:
            for rule in [*self._rules, *self._holding]:
                if rule.kind == "delay":
                    rule.released.set()
            self._rules = [rule for rule in self._rules if rule.kind != "delay"]

    def clear(self) -> None:
        """Drop every fault rule (held requests are released)."""
        self.release()
        with self._cond:
            self._rules.clear()

    @property
    def held(self) -> int:
        """How many requests a delay holds right now."""
        with self._cond:
            return self._held

    def wait_until_held(self, count: int = 1, timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._held >= count, timeout):
                raise TimeoutError(f"{self._held} requests held, waited for {count}")

    def _add(self, rule: _Rule) -> None:
        if rule.remaining is not None and rule.remaining < 1:
            raise ValueError("times must be at least 1 (or None)")
        with self._cond:
            self._rules.append(rule)

    def _take(self, request: RequestInfo) -> tuple[_Rule | None, _Rule | None]:
        """The delay rule and the answering rule for ``request``; uses up one of
        each rule's ``times``."""
        chosen: dict[bool, _Rule] = {}
        with self._cond:
            for rule in list(self._rules):
                is_delay = rule.kind == "delay"
                if is_delay in chosen or not rule.match(request):
                    continue
                chosen[is_delay] = rule
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
        return chosen.get(True), chosen.get(False)

    def _hold(self, rule: _Rule) -> None:
        with self._cond:
            self._held += 1
            self._holding.append(rule)
            self._cond.notify_all()
        try:
            rule.released.wait(rule.seconds)
        finally:
            with self._cond:
                self._held -= 1
                self._holding.remove(rule)
                self._cond.notify_all()

    # --- request log -------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        """A copy of the log, oldest first."""
        with self._cond:
            return list(self._log)

    def count(self, method: str | None = None, match: str | Matcher = None) -> int:
        """Logged requests with that method and accepted by ``match`` (a string:
        a path substring)."""
        with self._cond:
            return sum(1 for entry in self._log if log_matches(entry, method, match))

    def wait_for_count(
        self, count: int, method: str | None = None, match: str | Matcher = None,
        timeout: float = 10.0,
    ) -> None:
        """Wait until ``count(method, match) >= count``; TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: sum(1 for e in self._log if log_matches(e, method, match)) >= count,
                timeout,
            ):
                raise TimeoutError(f"fewer than {count} {method or ''} requests logged")

    def reset_log(self) -> None:
        with self._cond:
            self._log.clear()

    # --- forwarding ----------------------------------------------------------------

    def _serve(self, handler: ProxyHandler, body: bytes) -> None:
        listener = handler.listener
        headers_in = CaseInsensitiveDict(dict(handler.headers.items()))
        request = RequestInfo(handler.command, handler.path, headers_in, body, listener)
        delay_rule, answer_rule = self._take(request)
        if delay_rule is not None and delay_rule.stage == "request":
            self._hold(delay_rule)
        fault: str | None = None
        if answer_rule is not None and answer_rule.answer is not None:  # not a delay
            status, headers, payload = answer_rule.answer(request)
            headers = [*headers, ("Date", email.utils.formatdate(usegmt=True))]
            fault = answer_rule.kind
        else:
            status, headers, payload = self._forward(request)
            if status == 502 and payload.startswith(b"fault proxy:"):
                fault = "upstream unreachable"
        if delay_rule is not None and delay_rule.stage == "response":
            self._hold(delay_rule)
        logged_headers = {k: v for k, v in handler.headers.items() if k.lower() != "authorization"}
        with self._cond:
            self._log.append(LoggedRequest(request.method, request.path, logged_headers, status,
                                           listener, fault, body))  # fmt: skip
            self._cond.notify_all()
        send_answer(handler, status, headers, payload)

    def _forward(self, request: RequestInfo) -> Answer:
        with self._cond:
            own = [self._origin(name, host) for name in self._servers
                   for host in {"127.0.0.1", "localhost", self._hosts.get(name, "127.0.0.1")}]
        headers = CaseInsensitiveDict(
            {k: v for k, v in request.headers.items() if k.lower() not in NOT_FORWARDED}
        )
        headers["Accept-Encoding"] = "identity"
        if "Destination" in headers:
            headers["Destination"] = rewrite_text(headers["Destination"], own, self.upstream)
        body = request.body
        if body and is_text(request.headers.get("Content-Type", ""), body):
            body = rewrite(body, own, self.upstream)
        try:
            response = self._session.request(
                request.method, self.upstream + request.path, headers=headers,
                data=body or None, allow_redirects=False, timeout=self.upstream_timeout,
                verify=self.verify,
            )  # fmt: skip
        except requests.RequestException as exc:
            message = f"fault proxy: upstream {self.upstream} failed: {exc}".encode()
            return 502, [("Content-Type", "text/plain; charset=utf-8")], message
        mine = self._origin(request.listener)
        out: list[tuple[str, str]] = []
        for name, value in response.raw.headers.items():
            if name.lower() in NOT_RETURNED:
                continue
            if name.lower() in ("location", "content-location"):
                value = rewrite_text(value, [self.upstream], mine)
            out.append((name, value))
        payload = response.content
        if request.method.upper() == "HEAD":
            length = response.headers.get("Content-Length")
            out += [("Content-Length", length)] if length is not None else []
        if is_text(response.headers.get("Content-Type", ""), b""):
            payload = rewrite(payload, [self.upstream], mine)
            with self._cond:
                partition_on = self._partition_on
            if partition_on and request.listener == PRIMARY:
                payload = point_home_at(payload, self._origin(PARTITION))
        return response.status_code, out, payload


