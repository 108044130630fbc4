"""A URLconf of one route, for tests that change ``ROOT_URLCONF``."""

from django.http import HttpResponse
from django.urls import path

urlpatterns = [
    path("elsewhere/requests/<int:pk>/", lambda request, pk: HttpResponse(), name="request-detail"),
]
