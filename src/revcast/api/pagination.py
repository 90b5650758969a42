"""Page-number pagination: ``?page=N&page_size=M`` (at most 500); ``count``, ``next``, ``previous``, ``results``."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
