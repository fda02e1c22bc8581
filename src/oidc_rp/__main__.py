"""``python -m oidc_rp`` runs the same command line as ``oidc-rp``."""

from __future__ import annotations

from oidc_rp.cli import run

run()
