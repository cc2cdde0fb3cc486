"""Settings of the fleet benchmark: the site's settings with the fleet's brokers, replay servers and limits.

``bench_fleet.py`` writes the replay servers' URLs, the politeness limits and
the scenarios' settings into a JSON file named by ``BHTOM_FLEET_CONFIG``; every
process of the run (the update command, its forked processes, the workers)
reads it here.
"""
import json
import os

from bhtom2.brokers import ALL
from settings import *  # noqa: F403

_config = json.loads(open(os.environ["BHTOM_FLEET_CONFIG"]).read())

TOM_ALERT_CLASSES = [f"fleet_brokers.Fleet{path.rsplit('.', 1)[1]}" for path in ALL]
BHTOM_URLS = _config["urls"]
BHTOM_POLITENESS = _config["politeness"]
globals().update(_config["settings"])
