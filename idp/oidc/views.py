"""The provider's control API on loopback, as cloudsim's ``/_sim/``: tests and the demo add,
change and remove people and clients with it."""

import json

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import get_application_model


@transaction.atomic
def user_upsert(data: dict) -> User:
    user, _ = User.objects.get_or_create(username=data["username"])
    user.first_name = data.get("given_name", user.first_name)
    user.last_name = data.get("family_name", user.last_name)
    user.email = data.get("email", user.email or f"{user.username}@agency.example")
    user.is_active = data.get("active", True)
    if "password" in data:
        user.set_password(data["password"])
    user.save()
    if "groups" in data:
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in data["groups"]])
    return user


@transaction.atomic
def client_upsert(data: dict):
    application_model = get_application_model()
    app, _ = application_model.objects.get_or_create(
        client_id=data["client_id"],
        defaults={
            "name": data.get("name", data["client_id"]),
            "client_type": application_model.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": application_model.GRANT_AUTHORIZATION_CODE,
            "algorithm": application_model.RS256_ALGORITHM,
            "skip_authorization": True,
        },
    )
    app.client_secret = data["client_secret"]  # hashed on save
    app.redirect_uris = " ".join(data.get("redirect_uris", []))
    app.save()
    return app


def _describe(user: User) -> dict:
    return {
        "username": user.username,
        "active": user.is_active,
        "groups": sorted(user.groups.values_list("name", flat=True)),
    }


@csrf_exempt
def users(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        return JsonResponse(_describe(user_upsert(json.loads(request.body))), status=201)
    return JsonResponse({"users": [_describe(u) for u in User.objects.order_by("username")]})


@csrf_exempt
def user(request: HttpRequest, username: str) -> JsonResponse:
    found = User.objects.filter(username=username).first()
    if found is None:
        return JsonResponse({"error": "no such user"}, status=404)
    if request.method == "DELETE":
        found.delete()  # with their grants and tokens
        return JsonResponse({}, status=204)
    if request.method == "PATCH":
        found = user_upsert({**json.loads(request.body), "username": username})
    return JsonResponse(_describe(found))


@csrf_exempt
def clients(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST a client"}, status=405)
    app = client_upsert(json.loads(request.body))
    return JsonResponse({"client_id": app.client_id}, status=201)
