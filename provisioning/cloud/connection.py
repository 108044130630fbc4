"""Connections to the clouds named in clouds.yaml, and the translation of SDK errors.

One connection per (process, clouds.yaml, cloud, project) is cached: a password login costs a
Keystone round trip, and keystoneauth renews the token by itself when it expires. The process id
is part of the key because Celery's prefork workers must not share a socket with their parent.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import openstack
import openstack.config
import openstack.connection
import openstack.exceptions as sdk_exc
from keystoneauth1 import exceptions as ksa_exc

from provisioning.cloud.base import (
    CloudError,
    CloudNotFound,
    CloudPermanentError,
    CloudQuotaExceeded,
    CloudTarget,
    CloudTransientError,
)

DEFAULT_API_TIMEOUT = 30.0


class PortalConnection(openstack.connection.Connection):
    """A connection whose calls carry the portal's request id as OpenStack's global request id
    (``X-OpenStack-Request-ID``), read at each call from the work in hand
    (``portal.request_ids``): Nova, Neutron, Cinder and Glance log it beside their own id, so
    an operator finds a portal request in the cloud's logs.

    The SDK reads ``_global_request_id`` when it sends each request; making it follow the
    context keeps one cached connection per process, shared by threads and by tasks that each
    carry their own id. (``Connection.global_request()`` would build a new connection, and its
    proxies, for every task.)
    """

    @property
    def _global_request_id(self) -> str | None:
        from portal import request_ids

        return request_ids.current() or self._fixed_global_request_id

    @_global_request_id.setter
    def _global_request_id(self, value: str | None) -> None:
        self._fixed_global_request_id = value


_connections: dict[tuple[Any, ...], openstack.connection.Connection] = {}
_lock = threading.Lock()


def clouds_yaml_path(explicit: str | None = None) -> str | None:
    """Where clouds.yaml is: the target's own path, settings.CLOUDS_YAML, then the environment."""
    if explicit:
        return explicit
    try:
        from django.conf import settings

        if settings.configured and getattr(settings, "CLOUDS_YAML", None):
            return str(settings.CLOUDS_YAML)
    except Exception:  # noqa: S110 - no Django settings (a script or a plain test): use env
        pass
    return os.environ.get("CLOUDS_YAML") or os.environ.get("OS_CLIENT_CONFIG_FILE")


def api_timeout() -> float:
    """Seconds before an API call gives up (connect and read alike: keystoneauth takes one)."""
    try:
        from django.conf import settings

        if settings.configured and getattr(settings, "CLOUD_API_TIMEOUT", None):
            return float(settings.CLOUD_API_TIMEOUT)
    except Exception:  # noqa: S110 - fall back to the environment
        pass
    return float(os.environ.get("CLOUD_API_TIMEOUT", DEFAULT_API_TIMEOUT))


def connect(target: CloudTarget) -> openstack.connection.Connection:
    """The cached connection for a target; creating it does not call the cloud yet."""
    path = clouds_yaml_path(target.clouds_yaml)
    timeout = target.api_timeout or api_timeout()
    key = (os.getpid(), path, target.cloud, target.project_id, timeout)
    with _lock:
        conn = _connections.get(key)
        if conn is not None:
            return conn
    conn = connect_anew(target)
    with _lock:
        return _connections.setdefault(key, conn)


def connect_anew(target: CloudTarget) -> openstack.connection.Connection:
    """A connection of its own, not cached: its first call logs in again (what a probe of
    the cloud's identity service must measure). The caller closes it."""
    path = clouds_yaml_path(target.clouds_yaml)
    timeout = target.api_timeout or api_timeout()
    with translate_errors(f"cloud {target.cloud}"):
        # load_envvars=False: OS_* variables must never silently replace the named cloud's auth.
        config = openstack.config.OpenStackConfig(
            config_files=[path] if path else None, load_envvars=False
        )
        overrides: dict[str, Any] = {"api_timeout": timeout}
        if target.project_id:
            overrides.update(project_id=target.project_id, project_name=None)
            overrides.update(project_domain_name=None, project_domain_id=None)
        region = config.get_one(cloud=target.cloud, **overrides)
        return PortalConnection(config=region)


def forget_connections() -> None:
    """Drop cached connections (after a credentials change, or between tests)."""
    with _lock:
        conns = list(_connections.values())
        _connections.clear()
    for conn in conns:
        with contextlib.suppress(Exception):  # closing is best effort
            conn.close()


def _detail(err: Exception) -> str:
    details = getattr(err, "details", None)
    if details:
        return str(details).strip()
    message = str(getattr(err, "message", "") or err)
    return message.strip()


def _is_quota(status: int | None, detail: str) -> bool:
    text = detail.lower()
    if status == 413 and "quota" in text:  # Cinder: "... exceeds allowed gigabytes quota ..."
        return True
    return (status in (403, 409, 413) and "quota exceeded" in text) or "overquota" in text


def translate(err: Exception, doing: str = "") -> CloudError:
    """Map an openstacksdk/keystoneauth exception to the portal's error types."""
    where = f" ({doing})" if doing else ""
    if isinstance(err, CloudError):
        return err
    if isinstance(err, ksa_exc.ConnectionError | ksa_exc.DiscoveryFailure):
        return CloudTransientError(f"The cloud did not answer{where}: {_detail(err)}")
    status = getattr(err, "status_code", None) or getattr(err, "http_status", None)
    detail = _detail(err)
    if isinstance(err, sdk_exc.NotFoundException | sdk_exc.ResourceNotFound) or status == 404:
        return CloudNotFound(f"Not found in the cloud{where}: {detail}")
    if status is not None and int(status) >= 500:
        return CloudTransientError(f"The cloud failed{where} (HTTP {status}): {detail}")
    if status is not None and _is_quota(int(status), detail):
        text = detail[0].lower() + detail[1:] if detail else "quota exceeded"
        return CloudQuotaExceeded(f"The cloud refused: {text}")
    if status is not None:
        return CloudPermanentError(f"The cloud refused{where} (HTTP {status}): {detail}")
    if isinstance(err, sdk_exc.ResourceTimeout):
        return CloudTransientError(f"Timed out waiting on the cloud{where}: {detail}")
    return CloudPermanentError(f"Cloud call failed{where}: {detail}")


def _refuse_inside_transaction(doing: str) -> None:
    """No database transaction may stay open across a cloud call (portal.transactions)."""
    from django.conf import settings

    if settings.configured:
        from portal.transactions import assert_no_transaction

        assert_no_transaction(f"a cloud call ({doing or 'openstacksdk'})")


@contextmanager
def translate_errors(doing: str = "") -> Iterator[None]:
    """Run SDK calls; whatever they raise leaves as a CloudError subclass.

    Every call into openstacksdk passes through here, which is where the rule "no transaction
    across a remote call" is enforced.
    """
    _refuse_inside_transaction(doing)
    try:
        yield
    except CloudError:
        raise
    except (sdk_exc.SDKException, ksa_exc.ClientException) as err:
        raise translate(err, doing) from err


def removed(doing: str, remove: Callable[[], Any]) -> bool:
    """Run a delete; False when the object was already gone, so a retried removal is safe."""
    try:
        with translate_errors(doing):
            remove()
    except CloudNotFound:
        return False
    return True
