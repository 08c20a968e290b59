"""Scheduling API routes, included under /api/v1/ by ops/urls.py."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
