from django.apps import AppConfig


class Bhtom2Config(AppConfig):
    name = "bhtom2"
    verbose_name = "BHTOM surveys"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from . import survey_name_hooks

        survey_name_hooks.install()
