"""A host urls.py that does not include tom_common.urls (so the apps' URLs are not mounted)."""
from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
