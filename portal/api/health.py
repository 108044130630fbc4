"""The portal's own readiness in detail, for operators (the bare status is ``/readyz``)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.health import readiness
from tenants.access import sees_everything


class HealthView(APIView):
    """Every check of ``/readyz`` with its detail and time: operators and auditors only."""

    @extend_schema(
        summary="The portal's readiness, check by check (operators and auditors)",
        description="database, migrations and broker decide readiness; schedule (beat and a "
        "worker, by the heartbeat task) and probes (each enabled region's last probe) only "
        "degrade it. 503 when not ready.",
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.ChoiceField(choices=["ok", "degraded", "not ready"]),
                "checks": inline_serializer(
                    "HealthCheck",
                    {
                        "name": serializers.CharField(),
                        "ok": serializers.BooleanField(),
                        "detail": serializers.CharField(),
                        "seconds": serializers.FloatField(),
                        "required": serializers.BooleanField(),
                    },
                    many=True,
                ),
            },
        ),
    )
    def get(self, request) -> Response:
        if not sees_everything(request.user):
            raise PermissionDenied(_("The portal's health is for operators and auditors."))
        state = readiness()
        return Response(state.as_dict(), status=200 if state.ready else 503)
