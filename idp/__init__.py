"""The agency's identity services on loopback, for the demo and the tests: a directory (Debian's
OpenLDAP ``slapd``, run with a seeded tree by ``idp.directory``) and an OpenID Connect provider
(a small Django site on django-oauth-toolkit's OIDC mode, ``idp.oidc``).

Both read the same seed: ``{"users": [{"username", "password", "given_name", "family_name",
"email", "groups": [...]}], "clients": [{"client_id", "client_secret", "redirect_uris"}]}``.
"""
