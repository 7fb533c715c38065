"""What keeps the page's responses and requests safe: headers on every response, a same-origin check on
every POST.

The page's script builds every message with `textContent`, and the Content-Security-Policy makes that the
only way: no inline script or style, nothing from another origin, and Trusted Types on, so an `innerHTML`
assignment anywhere in the page throws instead of parsing a resident's text as HTML. Cross-site requests
are refused three times over: the session cookie is SameSite=Strict, the endpoint takes JSON only (a form
on another site cannot send `application/json` without a preflight we never grant), and the Origin (and,
where the browser sends it, Sec-Fetch-Site) must be this page's own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request


def content_security_policy(frame_ancestors: tuple[str, ...] = ()) -> str:
    ancestors = " ".join(("'self'", *frame_ancestors))
    return "; ".join((
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {ancestors}",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ))


def headers(frame_ancestors: tuple[str, ...] = ()) -> dict[str, str]:
    """For every response of the page: its HTML, its assets, its JSON."""
    out = {
        "Content-Security-Policy": content_security_policy(frame_ancestors),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
    if not frame_ancestors:  # browsers without CSP frame-ancestors; it cannot name other origins
        out["X-Frame-Options"] = "SAMEORIGIN"
    return out


def same_origin(request: Request) -> bool:
    """Whether a POST comes from this page: its Origin names the host the request was sent to (the Host
    header, which a reverse proxy must pass on as the browser sent it), and the browser, when it says,
    calls it same-origin. A missing or opaque ("null") Origin is refused: every browser sends one with a
    POST made by a script."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    origin = urlsplit(request.headers.get("origin", ""))
    host = request.headers.get("host", "").lower()
    return origin.scheme in ("http", "https") and bool(host) and origin.netloc.lower() == host
