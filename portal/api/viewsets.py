"""The access-filtered viewsets every API endpoint is built on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from rest_framework import viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from portal.idempotency import run_idempotent
from tenants.access import Action, anchor_check


class RestrictedReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    """Lists and details only what the caller may see; anything else answers 404.

    Subclasses name a ``queryset`` whose model declares ``access_paths``; the viewset narrows it
    with the access layer on every request, the same filter the pages use.
    """

    access_action = Action.VIEW
    ordering_fields: list[str] = ["id"]
    ordering = ["id"]
    #: Fetch an object named in the URL by its key, then check its allocation (``get_object``).
    #: Only for viewsets whose ``get_queryset`` builds on this class's, unchanged in what it
    #: lets through.
    check_row_after_fetch = False
    #: True only inside ``get_object`` while it fetches a row that it checks itself.
    _row_checked_after_fetch = False

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if self._row_checked_after_fetch:
            return queryset
        return queryset.restrict(self.request.user, self.access_action)

    def get_object(self) -> Any:
        """The object named in the URL, if the caller may see it (else 404, before any other
        check, so a refusal never tells that it exists). For models under an allocation the row
        is fetched by its key and its allocation checked against the caller's
        (``tenants.access.anchor_check``): the same rule as ``restrict()``, without compiling
        the caller's allocation ids into the query."""
        check = None
        if self.check_row_after_fetch:
            check = anchor_check(self.queryset.model, self.request.user, self.access_action)
        if check is None:
            return super().get_object()
        self._row_checked_after_fetch = True
        try:
            queryset = self.filter_queryset(self.get_queryset())
        finally:
            self._row_checked_after_fetch = False
        lookup = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        obj = get_object_or_404(queryset, **{self.lookup_field: lookup})
        if not check(obj):
            raise Http404
        self.check_object_permissions(self.request, obj)
        return obj


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
