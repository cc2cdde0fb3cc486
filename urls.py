"""URLs of the TOM site: TOM Toolkit's own, the broker pages (``alerts``) and this plugin's."""
from django.urls import include, path

urlpatterns = [
    path("alerts/", include("tom_alerts.urls", namespace="alerts")),
    path("", include("tom_common.urls")),
]
