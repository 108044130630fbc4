from django.contrib.auth import views as auth_views
from django.urls import include, path

from idp.oidc import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("_idp/users/", views.users, name="users"),
    path("_idp/users/<str:username>/", views.user, name="user"),
    path("_idp/clients/", views.clients, name="clients"),
]
