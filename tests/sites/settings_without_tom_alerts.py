"""A host that forgot tom_alerts in INSTALLED_APPS."""
from tests.settings import *  # noqa: F401,F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "tom_alerts"]
