from django.apps import AppConfig


class BhtomBaseConfig(AppConfig):
    name = "bhtom_base"
    verbose_name = "Survey lightcurve updates"
    default_auto_field = "django.db.models.AutoField"
