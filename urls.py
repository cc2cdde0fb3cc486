"""URLs of the TOM site: TOM Toolkit's own, which mount every app's URLs (bhtom_base's and the broker pages)."""
from django.urls import include, path

urlpatterns = [
    path("", include("tom_common.urls")),
]
