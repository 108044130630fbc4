"""Value objects and errors of the cloud layer; nothing here knows about openstacksdk.

The rest of the portal (services, tasks, the reconciler) speaks only these types, so a test or a
second cloud backend never has to touch SDK resources, and SDK upgrades stay inside this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REQUEST_TAG_PREFIX = "portal-request-"


def request_tag(request_id: int | str) -> str:
    """The tag stamped on every cloud object built for a request; retries look it up first."""
    return f"{REQUEST_TAG_PREFIX}{request_id}"


# ---- errors ------------------------------------------------------------------------------
class CloudError(Exception):
    """Anything the cloud refused or failed to do; the message is meant for a person."""


class CloudTransientError(CloudError):
    """Worth retrying later: 5xx answers, connection failures, timeouts."""


class CloudPermanentError(CloudError):
    """Retrying will not help: bad input, policy, missing flavor, and the like."""


class CloudNotFound(CloudPermanentError):
    """The object does not exist (or is not visible to this project)."""


class CloudQuotaExceeded(CloudPermanentError):
    """The cloud's own quota refused the request."""


# ---- where to act --------------------------------------------------------------------------
@dataclass(frozen=True)
class CloudTarget:
    """A cloud from clouds.yaml, optionally re-scoped to another project of the same account.

    `clouds_yaml` overrides settings.CLOUDS_YAML and `api_timeout` settings.CLOUD_API_TIMEOUT,
    so tests and scripts need no Django settings.
    """

    cloud: str
    project_id: str | None = None
    clouds_yaml: str | None = None
    api_timeout: float | None = None


# ---- what the cloud holds ------------------------------------------------------------------
@dataclass(frozen=True)
class AddressInfo:
    network: str
    address: str
    version: int
    mac: str = ""
    kind: str = "fixed"


@dataclass(frozen=True)
class ServerInfo:
    id: str
    name: str
    status: str
    project_id: str
    flavor_name: str
    vcpus: int | None
    ram_mb: int | None
    image_id: str
    addresses: tuple[AddressInfo, ...] = ()
    tags: tuple[str, ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()
    fault_message: str = ""
    created_at: str = ""
    key_name: str | None = None
    task_state: str | None = None

    @property
    def request_tag(self) -> str | None:
        return next((t for t in self.tags if t.startswith(REQUEST_TAG_PREFIX)), None)

    @property
    def is_active(self) -> bool:
        return self.status == "ACTIVE"

    @property
    def is_error(self) -> bool:
        return self.status == "ERROR"

    @property
    def is_deleting(self) -> bool:
        """Deletion was requested; Nova still lists it for a while (and soft-deleted ones)."""
        return self.task_state == "deleting" or self.status in ("DELETED", "SOFT_DELETED")


@dataclass(frozen=True)
class FloatingIpInfo:
    """A Neutron floating IP; ``port_id`` is empty while it is not given to a port."""

    id: str
    address: str
    network_id: str
    port_id: str = ""
    fixed_address: str = ""
    status: str = ""
    project_id: str = ""
    tags: tuple[str, ...] = ()
    description: str = ""

    @property
    def request_tag(self) -> str | None:
        stamped = (*self.tags, self.description)
        return next((t for t in stamped if t.startswith(REQUEST_TAG_PREFIX)), None)


@dataclass(frozen=True)
class VolumeInfo:
    """A Cinder volume; ``attachments`` are (server id, device) pairs."""

    id: str
    name: str
    size_gb: int
    status: str
    volume_type: str = ""
    project_id: str = ""
    attachments: tuple[tuple[str, str], ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()

    @property
    def request_tag(self) -> str | None:
        tag = dict(self.metadata).get("portal_request", "")
        return tag if tag.startswith(REQUEST_TAG_PREFIX) else None

    @property
    def is_error(self) -> bool:
        return self.status.startswith("error")


@dataclass(frozen=True)
class VolumeTypeInfo:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class KeypairInfo:
    """A key pair: ``fingerprint`` is the cloud's (Nova shows an MD5 of the key)."""

    name: str
    fingerprint: str
    public_key: str


@dataclass(frozen=True)
class PortInfo:
    """A Neutron port; the binding fields are None where the cloud's policy hides them.

    Neutron shows `binding:vif_type` and `binding:host_id` to admins only (secure-RBAC
    defaults), so read ports with the region's admin account to check that a port is bound.
    """

    id: str
    network_id: str
    status: str
    device_id: str
    device_owner: str
    mac: str = ""
    fixed_ips: tuple[tuple[str, str], ...] = ()  # (subnet_id, ip_address)
    vif_type: str | None = None
    host_id: str | None = None
    vnic_type: str | None = None

    @property
    def is_bound(self) -> bool:
        return self.vif_type not in (None, "", "unbound", "binding_failed")


@dataclass(frozen=True)
class NetworkInfo:
    id: str
    name: str
    project_id: str
    subnet_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    is_external: bool = False
    status: str = "ACTIVE"


@dataclass(frozen=True)
class SubnetInfo:
    id: str
    name: str
    network_id: str
    cidr: str
    gateway_ip: str | None
    ip_version: int = 4
    dns_nameservers: tuple[str, ...] = ()
    allocation_pools: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RouterInfo:
    id: str
    name: str
    project_id: str
    external_network_id: str | None = None
    external_ips: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class NetworkSetup:
    """What `network_find_or_create` builds for one request: network, subnet, optional router."""

    network: NetworkInfo
    subnet: SubnetInfo
    router: RouterInfo | None = None


@dataclass(frozen=True)
class SecurityRule:
    """A security group rule; two rules are equal when they open the same traffic (their ids
    and descriptions aside), which is how Neutron tells a duplicate."""

    direction: str = "ingress"
    protocol: str | None = "tcp"
    port_min: int | None = None
    port_max: int | None = None
    remote_ip_prefix: str | None = "0.0.0.0/0"
    ethertype: str = "IPv4"
    remote_group_id: str | None = None
    id: str = field(default="", compare=False)
    description: str = field(default="", compare=False)


@dataclass(frozen=True)
class SecurityGroupInfo:
    id: str
    name: str
    project_id: str
    rules: tuple[SecurityRule, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FlavorInfo:
    id: str
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    is_public: bool = True


@dataclass(frozen=True)
class ImageInfo:
    id: str
    name: str
    status: str
    visibility: str
    disk_format: str | None = None
    min_disk_gb: int = 0
    min_ram_mb: int = 0
    size_bytes: int | None = None


@dataclass(frozen=True)
class QuotaItem:
    limit: int
    used: int

    @property
    def unlimited(self) -> bool:
        return self.limit < 0

    @property
    def free(self) -> int | None:
        return None if self.unlimited else max(self.limit - self.used, 0)


@dataclass(frozen=True)
class QuotaInfo:
    """Nova, Neutron and Cinder quotas of one project in one region, with what is in use."""

    project_id: str
    instances: QuotaItem
    cores: QuotaItem
    ram_mb: QuotaItem
    networks: QuotaItem
    subnets: QuotaItem
    routers: QuotaItem
    ports: QuotaItem
    security_groups: QuotaItem
    floating_ips: QuotaItem = field(default_factory=lambda: QuotaItem(-1, 0))
    #: Cinder's; unlimited where the cloud has no block storage.
    volumes: QuotaItem = field(default_factory=lambda: QuotaItem(-1, 0))
    gigabytes: QuotaItem = field(default_factory=lambda: QuotaItem(-1, 0))


@dataclass(frozen=True)
class ProjectInfo:
    id: str
    name: str
    domain_id: str
    description: str = ""
    enabled: bool = True
