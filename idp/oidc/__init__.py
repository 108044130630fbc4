"""A small OpenID Connect provider on django-oauth-toolkit's OIDC mode, for the demo and the
tests: ``python -m idp.oidc --port 8890 --state var/demo/idp --seed seed.json``."""
