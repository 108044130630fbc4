"""Single sign-on: the agency's directory (LDAP / Active Directory) and an OpenID Connect
provider, next to local accounts.

Either, both or neither is on, by configuration (``PORTAL_LDAP_URL``, ``PORTAL_OIDC_*``). Who
the person is and which groups they are in comes from here; what the groups give is
``tenants.directory``'s business.
"""
