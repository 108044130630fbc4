from django.urls import path

from tenants import views

urlpatterns = [
    path("tenants/", views.TenantListView.as_view(), name="tenant-list"),
    path("tenants/<int:pk>/", views.TenantDetailView.as_view(), name="tenant-detail"),
    path("allocations/", views.AllocationListView.as_view(), name="allocation-list"),
    path("allocations/<int:pk>/", views.AllocationDetailView.as_view(), name="allocation-detail"),
    path("regions/", views.RegionListView.as_view(), name="region-list"),
    path("regions/<int:pk>/", views.RegionDetailView.as_view(), name="region-detail"),
    path("account/out-of-office/", views.DelegationView.as_view(), name="account-delegation"),
    path(
        "account/out-of-office/<int:pk>/end/",
        views.DelegationEndView.as_view(),
        name="account-delegation-end",
    ),
]
