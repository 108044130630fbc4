"""The access-filtered viewsets every API endpoint is built on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.response import Response

from portal.idempotency import run_idempotent
from tenants.access import Action


class RestrictedReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    """Lists and details only what the caller may see; anything else answers 404.

    Subclasses name a ``queryset`` whose model declares ``access_paths``; the viewset narrows it
    with the access layer on every request, the same filter the pages use.
    """

    access_action = Action.VIEW
    ordering_fields: list[str] = ["id"]
    ordering = ["id"]

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        return queryset.restrict(self.request.user, self.access_action)


class IdempotentMixin:
    """Every POST of the view honours ``Idempotency-Key`` (see ``portal.idempotency``).

    DRF's ``dispatch`` looks the handler up after ``initial()`` (authentication, permissions,
    throttles), so wrapping it there covers every POST action of a viewset, present and future,
    and keys are only reserved for callers who passed those checks.
    """

    idempotent_methods = ("post",)

    def idempotent_stored_body(self, data: Any) -> Any:
        """What of an answer is kept for replays; views answering with secrets redact here."""
        return data

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        method = request.method.lower()
        handler = getattr(self, method, None)
        if method in self.idempotent_methods and handler is not None:
            setattr(self, method, self._idempotent(handler))

    def _idempotent(self, handler: Callable[..., Response]) -> Callable[..., Response]:
        def wrapped(request, *args, **kwargs) -> Response:
            def answer() -> Response:
                try:
                    return handler(request, *args, **kwargs)
                except Exception as exc:
                    # Errors are answers too: a retry of a refused request is refused the same.
                    return self.handle_exception(exc)

            return run_idempotent(request, answer, self.idempotent_stored_body)

        return wrapped


class RestrictedViewSet(IdempotentMixin, RestrictedReadOnlyViewSet):
    """Restricted reads plus actions (POST) that call the services; POSTs are idempotent."""
