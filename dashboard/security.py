"""Who may do what on the dashboard, and the guard in front of every request.

- The **facilitator token** (like a notebook server's token) is generated at start (or given with
  ``--token`` / ``$INNOSIM_FACILITATOR_TOKEN``) and printed with a ready-to-click link. Listing,
  deleting and exporting submissions and reading exercise solutions need it, as an
  ``Authorization: Bearer`` header or the cookie that ``/facilitator?token=...`` sets once.
- **Team tokens** (see :mod:`dashboard.store`) prove that a page may add to or delete a team's
  submissions.
- :class:`Guard` refuses foreign ``Host`` headers (DNS rebinding), cross-site ``Origin`` on writes,
  and bodies over the size limit before the app reads them.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import math
import secrets
import string
from dataclasses import dataclass, field

from starlette.requests import Request

from .errors import Denied
from .limits import Limits, RateLimiter

COOKIE = "innosim_facilitator"
TOKEN_ENV = "INNOSIM_FACILITATOR_TOKEN"
TEAM_HEADER = "x-team-token"
CLIP = 80
_TOKEN_CHARS = set(string.ascii_letters + string.digits + "-._~")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
ALL_INTERFACES = ("0.0.0.0", "::", "")


def clip(value, limit: int = CLIP) -> str:
    """``repr`` of user-supplied text cut to ``limit`` characters, for error messages.

    Nothing a client sends is echoed back at length: a 10 MB id must not come back as a 10 MB
    error (an amplification and log-flooding vector).
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        return repr(text[:limit]) + f"…(+{len(text) - limit} characters)"
    return repr(text)


def new_token() -> str:
    """A facilitator token: 192 random bits, URL-safe, so guessing is hopeless (a token chosen with
    ``--token`` may be weaker: :class:`Gate` brakes repeated wrong guesses)."""
    return secrets.token_urlsafe(24)


def check_token(token: str, where: str = "--token") -> str:
    """A usable facilitator token, or :class:`ValueError` saying why not."""
    if len(token) < 16:
        raise ValueError(f"{where}: the facilitator token must have at least 16 characters")
    if len(token) > 200 or not set(token) <= _TOKEN_CHARS:
        # it travels in URLs, headers and cookies: only characters that need no escaping anywhere
        raise ValueError(f"{where}: the facilitator token may hold only letters, digits and - . _ ~ "
                         "(at most 200 characters)")
    return token


@dataclass(frozen=True)
class Access:
    """Access settings of one app: token, which Host names are ours, and the limits."""

    token: str = field(default_factory=new_token, repr=False)
    bind_host: str = "127.0.0.1"
    allowed_hosts: tuple = ()
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self):
        check_token(self.token, "facilitator token")

    def host_names(self) -> set[str]:
        names = {*LOOPBACK_NAMES, *(h.lower().rstrip(".") for h in self.allowed_hosts)}
        if self.bind_host not in ALL_INTERFACES:
            names.add(self.bind_host.lower().strip("[]"))
        return names

    @property
    def any_ip(self) -> bool:
        """Bound to every interface: participants type this machine's LAN address.

        An IP literal in ``Host`` cannot come from DNS rebinding (that needs the attacker's
        *name* resolving to us), so when the server is open to the LAN every IP literal is
        accepted; names still have to be on the list.
        """
        return self.bind_host in ALL_INTERFACES

    def token_ok(self, given: str) -> bool:
        # constant time: the comparison must not tell how many leading characters were right
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode("utf-8"))

    def cookie_value(self) -> str:
        """What the cookie holds: derived from the token, not the token itself.

        Browsers send a host's cookies to every port of that host, so any other local web server
        the facilitator visits sees it; it then learns a value for this server only, not the
        token that the facilitator may reuse or that opens the printed link.
        """
        return hmac.new(self.token.encode("utf-8"), b"innosim facilitator cookie", hashlib.sha256).hexdigest()

    def facilitator(self, authorization: str | None, cookie: str | None) -> bool | None:
        """True: a right credential; False: a wrong one was given; None: no credential at all."""
        if authorization:
            scheme, _, value = authorization.strip().partition(" ")
            if scheme.lower() in ("bearer", "token") and value.strip():
                return self.token_ok(value.strip())
        if cookie:
            return hmac.compare_digest(cookie.encode("utf-8", "replace"), self.cookie_value().encode("ascii"))
        return None


class Gate:
    """The facilitator check of one app, with a brake on wrong guesses.

    A generated token cannot be guessed, but ``--token`` lets people choose a weak one: after 20
    wrong tokens in a minute from one address, further attempts get 429 for a while.
    """

    def __init__(self, access: Access):
        self.access = access
        self.misses = RateLimiter(20, 60.0)

    @staticmethod
    def cookie_name(request: Request) -> str:
        # one name per port, so two dashboards on one machine do not overwrite each other's cookie
        port = (request.scope.get("server") or ("", 0))[1]
        return f"{COOKIE}_{port}"

    @staticmethod
    def _braked(wait: float) -> Denied:
        return Denied(429, f"too many wrong facilitator tokens from this computer; try again in "
                           f"{math.ceil(wait)} s", {"Retry-After": str(math.ceil(wait))})

    def guard(self, request: Request) -> None:
        """Before a token is compared: an address that used up its wrong guesses may not try at all.

        Refusing only the wrong ones would leave an oracle (429 = wrong, 200 = right).
        """
        wait = self.misses.peek(_client(request))
        if wait:
            raise self._braked(wait)

    def missed(self, request: Request) -> None:
        self.misses.take(_client(request))

    def check(self, request: Request) -> bool | None:
        authorization = request.headers.get("authorization")
        cookie = request.cookies.get(self.cookie_name(request))
        if authorization or cookie:
            self.guard(request)
        ok = self.access.facilitator(authorization, cookie)
        if ok is False:
            self.missed(request)
        return ok

    def require(self, request: Request) -> None:
        """A FastAPI dependency: 401 without a credential, 403 with a wrong one."""
        self.deny(self.check(request))

    @staticmethod
    def deny(ok: bool | None) -> None:
        """Raise the refusal for the outcome ``ok`` of :meth:`check` (nothing when it is True)."""
        if ok is None:
            raise Denied(401, "this needs the facilitator token: open the facilitator link printed when the "
                              "server started (/facilitator?token=...), or send 'Authorization: Bearer <token>'",
                         {"WWW-Authenticate": "Bearer"})
        if not ok:
            raise Denied(403, "wrong facilitator token")

    def set_cookie(self, request: Request, response) -> None:
        # HttpOnly: page scripts (and anything injected into them) cannot read it;
        # SameSite=Strict: another site's page cannot make the browser send it
        response.set_cookie(self.cookie_name(request), self.access.cookie_value(), httponly=True,
                            samesite="strict", path="/")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def split_host(value: str) -> str | None:
    """The host name of a ``Host`` header (no port, lower case, no trailing dot); None if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return None
        return name
    name, colon, port = value.rpartition(":")
    if not colon:
        name = port
    elif not port.isdigit() or ":" in name:
        return None
    name = name.rstrip(".")
    return name or None


def host_allowed(access: Access, host: str | None) -> bool:
    name = split_host(host) if host else None
    if not name:
        return False
    if name in access.host_names():
        return True
    if access.any_ip:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True
    return False


# ----------------------------------------------------------------------------- ASGI guard
async def _send_json(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware run before routing: Host allow-list, Origin on writes, body size limit.

    It is plain ASGI (not a Starlette ``BaseHTTPMiddleware``) so that it can answer before the
    body is read: a 100 MB upload is refused on its ``Content-Length``, and a body sent without
    one (chunked) is cut off as soon as it passes the limit. Bodies within the limit are buffered
    here and replayed to the app, so the app never sees more than ``limits.body_bytes``.
    """

    def __init__(self, app, access: Access):
        self.app = app
        self.access = access

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {}
        for k, v in scope.get("headers", ()):
            headers.setdefault(k.decode("latin-1").lower(), v.decode("latin-1"))
        host = headers.get("host")
        if not host_allowed(self.access, host):
            return await _send_json(send, 400, f"Host header {clip(host or '')} is not a name of this server; "
                                    "open it as http://127.0.0.1:<port>/ or start it with --allow-host NAME")
        method = scope.get("method", "GET")
        origin = headers.get("origin")
        if method not in ("GET", "HEAD", "OPTIONS") and origin and origin != "null":
            # a page from another site may not write here (a second wall behind SameSite cookies)
            # (same origin = same host and port as this request was sent to)
            if origin.split("://", 1)[-1].rstrip("/").lower() != host.strip().lower():
                return await _send_json(send, 403, f"requests from {clip(origin)} are not allowed")
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.access.limits.body_bytes
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                return await _send_json(send, 400, "Content-Length is not a number")
            if int(length) > limit:
                return await _send_json(send, 413, f"request body of {int(length)} bytes is over the limit of "
                                        f"{limit} bytes")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await _send_json(send, 413, f"request body is over the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)
