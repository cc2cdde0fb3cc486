"""URLs of the TOM site: TOM Toolkit's own, the broker pages (``alerts``) and this plugin's.

tom_common.urls comes first: it adds this plugin's URLs (``include_url_paths``) ahead of TOM's, so
the plugin's replacements (the broker-query page without ``?broker=``, the target list) win.
"""
from django.urls import include, path

urlpatterns = [
    path("", include("tom_common.urls")),
    path("alerts/", include("tom_alerts.urls", namespace="alerts")),
]
