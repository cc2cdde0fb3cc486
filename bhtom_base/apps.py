from django.apps import AppConfig


class BhtomBaseConfig(AppConfig):
    name = "bhtom_base"
    verbose_name = "Survey lightcurve updates"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import checks  # noqa: F401  (registers the system checks)
        from .task_queue_index import ensure_ready_index

        keep_astropy_offline()
        post_migrate.connect(ensure_ready_index, sender=self, dispatch_uid="bhtom_tasks_ready_index")

    def include_url_paths(self) -> list:
        """TOM Toolkit's tom_common/urls.py adds these before its own URLs (see bhtom_base/urls.py).

        TOM Toolkit does not mount ``tom_alerts`` itself; its templates link to the
        ``alerts`` namespace as soon as the app is installed, so it is mounted here.
        """
        from django.apps import apps
        from django.urls import include, path

        paths = [path("", include("bhtom_base.urls", namespace="bhtom_base"))]
        if apps.is_installed("tom_alerts"):
            paths.append(path("alerts/", include("tom_alerts.urls", namespace="alerts")))
        return paths

    def target_detail_buttons(self) -> list[dict]:
        return [{"partial": "bhtom_base/partials/update_button.html",
                 "context": "bhtom_base.templatetags.bhtom_lightcurve.update_button_context"}]


def keep_astropy_offline() -> None:
    """Leap seconds come from the pinned astropy-iers-data package, never from a download at run time.

    An update must work on a machine without internet, and never wait on the IERS servers.
    """
    from astropy.utils import iers

    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
