"""A test OpenID Provider that misbehaves on purpose, playing the OpenID Foundation RP tests.

Not part of the shipped package and independent of ``oidc_rp`` (so it can catch its bugs). See
README.md in this folder; the case catalogue is :data:`CASES`. ``serve_app`` (from
``support.loopback``) serves any ASGI app on loopback, e.g. a fake RP for the test OP to call.
"""

from __future__ import annotations

from ..loopback import serve_app
from .cases import CASES, Case, Edit
from .server import TestOP, run_test_op
from .state import Call

__all__ = ["CASES", "Call", "Case", "Edit", "TestOP", "run_test_op", "serve_app"]
