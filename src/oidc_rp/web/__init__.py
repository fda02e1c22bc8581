"""The oidc-rp web application (Starlette + Jinja2): log in, inspect tokens, act, log out.

See docs/web.md for the routes, the sessions and the security model.
"""

from __future__ import annotations

from oidc_rp.web.app import create_app

__all__ = ["create_app"]
