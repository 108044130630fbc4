"""The demo world: five sites, three security domains, their regions, tenants and users.

Kept as data so that the seed command, the cloud simulator's seed and the docs agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEMO_PASSWORD = "portal-demo-2026"

SITES = [
    ("Brussels", "brussels", "Brussels, Belgium"),
    ("The Hague", "the-hague", "The Hague, Netherlands"),
    ("Mons", "mons", "Mons, Belgium"),
    ("Braine-l'Alleud", "braine-l-alleud", "Braine-l'Alleud, Belgium"),
    ("Oeiras", "oeiras", "Oeiras, Portugal"),
]
# site slug -> time zone and the country whose public holidays stop working-time targets
SITE_CALENDARS = {
    "brussels": ("Europe/Brussels", "BE"),
    "the-hague": ("Europe/Amsterdam", "NL"),
    "mons": ("Europe/Brussels", "BE"),
    "braine-l-alleud": ("Europe/Brussels", "BE"),
    "oeiras": ("Europe/Lisbon", "PT"),
}
# The contract counts the RESTRICTED and SECRET targets in working time (Monday to Friday,
# 08:00-18:00 at each site, less its holidays): a decision within a working day.
WORKING_TIME_DOMAINS = {"nato-restricted", "nato-secret"}
WORKING_DECISION_TARGET_HOURS = 10

# name, slug, short (used in region names), level, marking, colour, security officer required,
# external addresses (floating IPs: allowed, with the officer's approval, or forbidden)
DOMAINS = [
    (
        "NATO UNCLASSIFIED",
        "nato-unclassified",
        "unclass",
        10,
        "NATO UNCLASSIFIED",
        "#007a33",
        False,
        "allow",
    ),
    (
        "NATO RESTRICTED",
        "nato-restricted",
        "restricted",
        20,
        "NATO RESTRICTED",
        "#0b5cad",
        False,
        "officer",
    ),
    ("NATO SECRET", "nato-secret", "secret", 30, "NATO SECRET", "#c8102e", True, "forbid"),
]


# domain slug -> who reviews firewall rules, inbound from anywhere, ports never opened inbound
FIREWALL = {
    "nato-unclassified": ("tenant", "allow", "23"),
    "nato-restricted": ("officer", "forbid", "23, 135-139, 445, 3389"),
    "nato-secret": ("officer", "forbid", "23, 135-139, 445, 3389, 5985-5986"),
}


def region_slug(site_slug: str, domain_short: str) -> str:
    return f"{site_slug}-{domain_short}"


# name, slug, parent slug, description
TENANTS = [
    ("Cyber Security Centre", "csc", None, "Defensive cyber operations and monitoring."),
    ("CSC Red Team", "csc-red-team", "csc", "Adversary emulation for the Cyber Security Centre."),
    ("Logistics Support Unit", "lsu", None, "Logistics planning and supply chain systems."),
    ("Joint Force Command", "jfc", None, "Operational command and control services."),
    ("Training and Exercises", "training", None, "Exercise environments and training labs."),
    ("Communications Engineering", "comms-eng", None, "Network and communications engineering."),
    ("Service Management Office", "smo", None, "IT service management tooling."),
]

# tenant slug -> region slugs it holds capacity in
ALLOCATIONS = {
    "csc": ["brussels-unclass", "brussels-restricted", "mons-restricted", "mons-secret"],
    "csc-red-team": ["mons-unclass", "mons-restricted"],
    "lsu": ["the-hague-unclass", "oeiras-unclass", "oeiras-restricted"],
    "jfc": ["mons-secret", "brussels-secret", "braine-l-alleud-secret"],
    "training": ["oeiras-unclass", "braine-l-alleud-unclass", "brussels-unclass"],
    "comms-eng": ["braine-l-alleud-restricted", "the-hague-restricted"],
    "smo": ["brussels-unclass", "the-hague-unclass"],
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    story: str
    memberships: dict[str, str] = field(default_factory=dict)  # tenant slug -> role
    domains: tuple[str, ...] = ()  # domain slugs cleared for
    sites: tuple[str, ...] = ()  # site slugs entitled to
    officer_of: tuple[str, ...] = ()  # domain slugs
    operator: bool = False
    auditor: bool = False


ALL_SITES = tuple(slug for _, slug, _ in SITES)

USERS = [
    DemoUser(
        "alice",
        "Alice Requester",
        "requester in CSC and Training; UNCLASSIFIED + RESTRICTED; Brussels, Mons, Oeiras",
        {"csc": "requester", "training": "requester"},
        ("nato-unclassified", "nato-restricted"),
        ("brussels", "mons", "oeiras"),
    ),
    DemoUser(
        "bob",
        "Bob Approver",
        "approver in CSC and CSC Red Team; all domains; Brussels, Mons",
        {"csc": "approver", "csc-red-team": "approver"},
        ("nato-unclassified", "nato-restricted", "nato-secret"),
        ("brussels", "mons"),
    ),
    DemoUser(
        "carol",
        "Carol Requester",
        "requester in Logistics; UNCLASSIFIED only; The Hague, Oeiras",
        {"lsu": "requester"},
        ("nato-unclassified",),
        ("the-hague", "oeiras"),
    ),
    DemoUser(
        "dave",
        "Dave Approver",
        "approver in Logistics; UNCLASSIFIED + RESTRICTED; The Hague, Oeiras",
        {"lsu": "approver"},
        ("nato-unclassified", "nato-restricted"),
        ("the-hague", "oeiras"),
    ),
    DemoUser(
        "erin",
        "Erin Requester",
        "requester in JFC; SECRET only; Mons, Brussels",
        {"jfc": "requester"},
        ("nato-secret",),
        ("mons", "brussels"),
    ),
    DemoUser(
        "frank",
        "Frank Approver",
        "approver in JFC; SECRET; Mons, Brussels, Braine-l'Alleud",
        {"jfc": "approver"},
        ("nato-secret",),
        ("mons", "brussels", "braine-l-alleud"),
    ),
    DemoUser(
        "mia",
        "Mia Manager",
        "manager of Training; viewer in Service Management; UNCLASSIFIED; all sites",
        {"training": "manager", "smo": "viewer"},
        ("nato-unclassified",),
        ALL_SITES,
    ),
    DemoUser(
        "sofia",
        "Sofia Security-Officer",
        "security officer of NATO SECRET and NATO RESTRICTED; all sites",
        {},
        ("nato-restricted", "nato-secret"),
        ALL_SITES,
        officer_of=("nato-restricted", "nato-secret"),
    ),
    DemoUser(
        "oscar",
        "Oscar Operator",
        "operator: sees and acts on everything, admin access",
        operator=True,
    ),
    DemoUser("aude", "Aude Auditor", "auditor: sees everything, changes nothing", auditor=True),
]


# --- Single sign-on: the demo directory (LDAP) and provider (OpenID Connect) -----------------
# Directory groups and what the portal's rules give their members: (group, right, target, role).
DIRECTORY_RULES = [
    ("portal-csc-requesters", "membership", "csc", "requester"),
    ("portal-csc-approvers", "membership", "csc", "approver"),
    ("portal-training-requesters", "membership", "training", "requester"),
    ("portal-training-managers", "membership", "training", "manager"),
    ("portal-cleared-unclassified", "clearance", "nato-unclassified", ""),
    ("portal-cleared-restricted", "clearance", "nato-restricted", ""),
    *((f"portal-site-{slug}", "site", slug, "") for slug in ALL_SITES),
    ("portal-operators", "operator", "", ""),
    ("portal-auditors", "auditor", "", ""),
]


@dataclass(frozen=True)
class DirectoryPerson:
    username: str
    given_name: str
    family_name: str
    story: str
    groups: tuple[str, ...]

    def seed(self) -> dict:
        return {
            "username": self.username, "password": DEMO_PASSWORD,
            "given_name": self.given_name, "family_name": self.family_name,
            "email": f"{self.username}@agency.example", "groups": list(self.groups),
        }  # fmt: skip


#: People in the demo directory: they sign in with user name and password on the portal's page.
LDAP_PEOPLE = [
    DirectoryPerson(
        "lena", "Lena", "Directory",
        "requester in CSC; UNCLASSIFIED + RESTRICTED; Brussels, Mons",
        ("portal-csc-requesters", "portal-cleared-unclassified", "portal-cleared-restricted",
         "portal-site-brussels", "portal-site-mons"),
    ),
    DirectoryPerson(
        "leon", "Leon", "Directory",
        "approver in CSC; UNCLASSIFIED + RESTRICTED; Brussels, Mons",
        ("portal-csc-approvers", "portal-cleared-unclassified", "portal-cleared-restricted",
         "portal-site-brussels", "portal-site-mons"),
    ),
]  # fmt: skip
#: People at the demo provider: they use the "Sign in with" button.
OIDC_PEOPLE = [
    DirectoryPerson(
        "olga", "Olga", "Provider",
        "requester in Training; UNCLASSIFIED; Brussels, Oeiras",
        ("portal-training-requesters", "portal-cleared-unclassified", "portal-site-brussels",
         "portal-site-oeiras"),
    ),
    DirectoryPerson(
        "omar", "Omar", "Provider", "operator (the provider's sign-in needs no second code)",
        ("portal-operators",),
    ),
]  # fmt: skip
OIDC_CLIENT_ID = "portal-demo"
OIDC_CLIENT_SECRET = "portal-demo-client-secret"
