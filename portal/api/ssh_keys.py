"""The caller's public SSH keys over the API: list, add, read, remove."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.viewsets import IdempotentMixin
from portal.models import SshKey
from portal.ssh_keys import ssh_key_add, ssh_key_remove, ssh_keys_of


class SshKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = SshKey
        fields = ["id", "name", "key_type", "bits", "fingerprint", "public_key", "created_at"]
        read_only_fields = ["id", "key_type", "bits", "fingerprint", "created_at"]
        extra_kwargs = {
            "name": {"required": False, "allow_blank": True},
            "public_key": {
                "help_text": gettext_lazy("One line in OpenSSH's form, as in a .pub file.")
            },
        }
        validators: list = []  # the service checks names and keys, with field messages


class SshKeyViewSet(
    IdempotentMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own public keys; a server request names one by id in ``spec.ssh_key``.

    Keys are personal: nobody else lists, reads or picks them, operators included. Removing a
    key changes no server already built with it.
    """

    queryset = SshKey.objects.none()  # the model, for the schema; rows come from below
    serializer_class = SshKeySerializer
    ordering_fields = ["id", "name", "created_at"]
    ordering = ["name", "id"]
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[SshKey]:
        return ssh_keys_of(self.request.user)

    @extend_schema(
        examples=[
            OpenApiExample(
                "An ed25519 key",
                value={"name": "laptop", "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA…"},
                request_only=True,
            )
        ]
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        key = ssh_key_add(
            user=request.user,
            public_key=payload.validated_data["public_key"],
            name=payload.validated_data.get("name", ""),
        )
        return Response(self.get_serializer(key).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        ssh_key_remove(user=request.user, key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
