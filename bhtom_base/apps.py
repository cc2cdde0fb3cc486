from django.apps import AppConfig


class BhtomBaseConfig(AppConfig):
    name = "bhtom_base"
    verbose_name = "Survey lightcurve updates"
    default_auto_field = "django.db.models.AutoField"

    def include_url_paths(self) -> list:
        """TOM Toolkit's tom_common/urls.py adds these before its own URLs (see bhtom_base/urls.py)."""
        from django.urls import include, path

        return [path("", include("bhtom_base.urls", namespace="bhtom_base"))]

    def target_detail_buttons(self) -> list[dict]:
        return [{"partial": "bhtom_base/partials/update_button.html",
                 "context": "bhtom_base.templatetags.bhtom_lightcurve.update_button_context"}]
