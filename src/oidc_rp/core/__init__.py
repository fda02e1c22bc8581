"""The OpenID Connect protocol, sans-IO: see README.md in this folder."""
