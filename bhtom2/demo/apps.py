from django.apps import AppConfig


class BhtomDemoConfig(AppConfig):
    """The demo of this repository's own site (``demo_setup``, ``demo_update``); not in the wheel."""

    name = "bhtom2.demo"
    label = "bhtom_demo"
    verbose_name = "BHTOM demo"
