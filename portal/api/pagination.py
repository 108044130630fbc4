"""Pagination shared by every list endpoint."""

from rest_framework.pagination import PageNumberPagination


class StablePageNumberPagination(PageNumberPagination):
    """Page numbers with a client-chosen size; viewsets always order by a unique key last."""

    page_size_query_param = "page_size"
    max_page_size = 500
