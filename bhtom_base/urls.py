"""This plugin's URLs, mounted at the site root by ``BhtomBaseConfig.include_url_paths``.

TOM Toolkit's tom_common/urls.py adds every app's ``include_url_paths()`` before
its own URLs, so the path of TOM's "Check for new data" (name
``dataproducts:update-reduced-data``) resolves to our replacement first. The
data endpoint lives under ``api/`` because TOM's ``Raise403Middleware`` turns
a 403 anywhere else into a redirect to the login page; a script or the plot's
fetch must see a real 403. ``targets/`` (TOM's target list) resolves to our list
with the photometry columns for the same reason of order.
"""
from django.urls import path

from . import download_views, views
from .query_views import ChooseBrokerQueryCreateView
from .target_list import LightcurveTargetListView

app_name = "bhtom_base"

urlpatterns = [
    path("bhtom/targets/<int:pk>/lightcurve/update/", views.update_lightcurves, name="update-lightcurves"),
    path("bhtom/targets/<int:pk>/lightcurve/status/", views.update_status, name="update-status"),
    path("bhtom/targets/<int:pk>/panel/<slug:panel>/", views.deferred_panel, name="deferred-panel"),
    path("bhtom/js/plotly-<str:version>.min.js", views.plotly_js, name="plotly-js"),
    path("api/bhtom/targets/<int:pk>/lightcurve/", views.lightcurve_data, name="lightcurve-data"),
    path("api/bhtom/targets/<int:pk>/lightcurve/download/", download_views.lightcurve_download,
         name="lightcurve-download"),
    path("targets/", LightcurveTargetListView.as_view(), name="target-list"),  # before TOM's targets:list
    path("alerts/query/create/", ChooseBrokerQueryCreateView.as_view(), name="broker-query-create"),
    path("dataproducts/data/reduced/update/", views.CheckForNewDataView.as_view(), name="check-for-new-data"),
]
