"""API views that belong to no model."""

from __future__ import annotations

from typing import NoReturn

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@permission_classes([AllowAny])
def not_found(request, *args, **kwargs) -> NoReturn:
    """Unknown paths under /api/v1/: the one error body, whatever the method."""
    raise NotFound()
