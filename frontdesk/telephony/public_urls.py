"""The public addresses of the stack's routes, as a carrier or a browser reaches them.

Behind a proxy the URL our server sees differs from the one the outside uses, so addresses are
built from `settings.public_base_url` (and, for sockets, `public_media_url` when the media
server has an address of its own).
"""

from frontdesk.config import Settings


def public_url(settings: Settings, path: str, query: str = "", websocket: bool = False) -> str:
    """The address the outside uses for `path` (and `query`): public_base_url, or for a socket
    public_media_url when set, as ws(s)://."""
    base = settings.public_base_url.rstrip("/")
    if websocket:
        base = (settings.public_media_url or base).rstrip("/")
        scheme, rest = base.split("://", 1)
        base = f"{'wss' if scheme == 'https' else 'ws'}://{rest}"
    return f"{base}{path}" + (f"?{query}" if query else "")


def websocket_url(settings: Settings, path: str) -> str:
    """The ws(s):// URL of a socket route (the TwiML <Stream url>, the browser's media socket)."""
    return public_url(settings, path, websocket=True)
