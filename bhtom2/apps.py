from django.apps import AppConfig


class Bhtom2Config(AppConfig):
    name = "bhtom2"
    verbose_name = "BHTOM surveys"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from . import survey_name_hooks

        add_survey_name_fields()
        survey_name_hooks.install()


def add_survey_name_fields() -> None:
    """A survey-name field per DataSource on TOM's target form, filter and CSV import.

    TOM Toolkit reads ``settings.EXTRA_FIELDS`` when it builds those forms, so
    the host's own extra fields are kept and ours are appended once, unless
    the host already declares a field of the same name.
    """
    from django.conf import settings

    from .settings_helpers import survey_name_extra_fields

    host_fields = list(getattr(settings, "EXTRA_FIELDS", []) or [])
    declared = {field["name"] for field in host_fields}
    settings.EXTRA_FIELDS = host_fields + [
        field for field in survey_name_extra_fields() if field["name"] not in declared
    ]
