"""Test settings: the site's settings with fast retries and no network beyond 127.0.0.1."""
from settings import *  # noqa: F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
BHTOM_HTTP = {
    "connect_timeout": 2.0,
    "read_timeout": 3.0,
    "retries": 2,
    "backoff_factor": 0.01,
    "max_retry_after": 0.2,
    "breaker_failures": 1000,
}
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# The ATLAS queue in tests: tiny polling interval and maximum wait; no credentials unless a test sets them.
BHTOM_ATLAS_POLL_INTERVAL = 0.01
BHTOM_ATLAS_MAX_WAIT = 5.0
BHTOM_ATLAS_TOKEN = ""
BHTOM_TNS_API_KEY = ""
BHTOM_TNS_BOT_ID = ""
BHTOM_TNS_BOT_NAME = ""
BHTOM_CPCS_DATA_ACCESS_TOKEN = ""
