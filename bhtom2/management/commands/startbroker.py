"""``manage.py startbroker NAME --pretty "Pretty Name" --filters g,r``: scaffold a new survey broker.

Writes the broker module (from ``bhtom2/brokers/new_broker_template.py``), its
registry entry in ``bhtom2/data_sources.py``, its base URL in
``bhtom2/settings_helpers.py``, a fixture folder with a sample response, a
replay route and a fault-matrix scenario, and a test module; then prints the
line to add to ``TOM_ALERT_CLASSES`` (``--register`` adds it to settings.py).
"""
from __future__ import annotations

import json
import re
import string
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

ROOT = Path(__file__).resolve().parents[3]
SCAFFOLD = ROOT / "bhtom2" / "scaffold"
REGISTRY_MARKER = "    # -- derived properties"
URLS_MARKER = "\n}\n\n\ndef survey_name_extra_fields"
SETTINGS_MARKER = "TOM_ALERT_CLASSES = [\n"
SAMPLE_POINTS = [
    (60000.10, "15.20", "0.02", "g", ""),
    (60000.20, "15.40", "0.03", "r", ""),
    (60001.10, "", "", "g", "19.5"),
    (60002.10, "15.10", "0.02", "g", ""),
]


class Command(BaseCommand):
    help = "Generate a new survey broker, its registry entry, fixtures and tests."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="DataSource name, e.g. MY_SURVEY")
        parser.add_argument("--pretty", required=True, help='pretty survey name, e.g. "My Survey"')
        parser.add_argument("--filters", required=True, help="comma-separated bands, e.g. g,r")
        parser.add_argument("--url", default="", help="base URL of the real service (scheme://host)")
        parser.add_argument("--name-label", default="", help="label of the target's name in this survey")
        parser.add_argument("--name-example", default="OBJ-0001", help="an example survey name")
        parser.add_argument("--register", action="store_true", help="also add the class to settings.py")

    def handle(self, *args, **options) -> None:
        if not (ROOT / "pyproject.toml").exists():
            raise CommandError("startbroker writes into a checkout of the bhtom-brokers repository, "
                               f"not into an installed package ({ROOT}).")
        name = options["name"].strip().upper()
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{1,30}", name):
            raise CommandError("NAME must be an upper-case identifier such as MY_SURVEY.")
        pretty = options["pretty"].strip()
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 .+\-]{0,20}", pretty):
            raise CommandError("--pretty must be letters, digits, spaces, '.', '+' or '-' (at most 21 characters).")
        bands = [band.strip() for band in options["filters"].split(",") if band.strip()]
        if not bands or not all(re.fullmatch(r"[A-Za-z0-9_.\-]{1,8}", band) for band in bands):
            raise CommandError("--filters must be a comma-separated list of band names such as g,r.")
        example = options["name_example"].strip()
        if not re.fullmatch(r"[A-Za-z0-9_.+\-]{1,64}", example):
            raise CommandError("--name-example must be letters, digits, '_', '.', '+' or '-'.")
        url = options["url"].strip().rstrip("/") or f"https://{name.lower().replace('_', '-')}.invalid"
        if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:[0-9]+)?", url):
            raise CommandError("--url must be scheme://host[:port].")
        module = name.lower()
        class_name = "".join(part.capitalize() for part in module.split("_")) + "Broker"
        label = options["name_label"].strip() or f"{pretty} name"

        from bhtom2.data_sources import DataSource

        if name in DataSource.__members__:
            raise CommandError(f"{name} is already a DataSource.")
        broker_path = ROOT / "bhtom2" / "brokers" / f"{module}.py"
        fixtures = ROOT / "tests" / "fixtures" / module
        test_path = ROOT / "tests" / "brokers" / f"test_{module}.py"
        for path in (broker_path, fixtures, test_path):
            if path.exists():
                raise CommandError(f"{path.relative_to(ROOT)} already exists.")

        self._write_broker(broker_path, name, pretty, class_name)
        self._add_registry_entry(name, pretty, label, bands, example)
        self._add_url(name, url)
        self._write_fixtures(fixtures, name, pretty, example)
        self._write_tests(test_path, module, name, pretty, class_name, example)
        settings_line = f'    "bhtom2.brokers.{module}.{class_name}",'
        if options["register"]:
            self._register(settings_line)
        self.stdout.write(
            f"Created the {name} broker:\n"
            f"  bhtom2/brokers/{module}.py, registry entry in bhtom2/data_sources.py,\n"
            f"  base URL in bhtom2/settings_helpers.py (override with BHTOM_URL_{name}),\n"
            f"  tests/fixtures/{module}/ (replace sample_lightcurve.csv by a real recorded response),\n"
            f"  tests/brokers/test_{module}.py\n"
            + ("Added to TOM_ALERT_CLASSES in settings.py.\n" if options["register"] else
               f"Add this line to TOM_ALERT_CLASSES in settings.py:\n{settings_line}\n")
        )

    def _write_broker(self, path: Path, name: str, pretty: str, class_name: str) -> None:
        text = (ROOT / "bhtom2" / "brokers" / "new_broker_template.py").read_text()
        text = text.replace('getattr(DataSource, "TEMPLATE_SOURCE", None)', f"DataSource.{name}")
        comment = "    # A member of the registry, e.g. DataSource.TEMPLATE_SOURCE (startbroker writes it).\n"
        text = text.replace(comment, "")
        text = text.replace(
            text[text.index("This is the template"):text.index("What a broker must say")],
            "Generated by ``manage.py startbroker``; see docs/new_broker_tutorial.md.\n\n",
        )
        text = text.replace("TEMPLATE_SOURCE", name).replace("TEMPLATE_PRETTY", pretty)
        text = text.replace("TemplateBroker", class_name)
        path.write_text(text)

    def _add_registry_entry(self, name: str, pretty: str, label: str, bands: list[str], example: str) -> None:
        path = ROOT / "bhtom2" / "data_sources.py"
        text = path.read_text()
        if REGISTRY_MARKER not in text:
            raise CommandError("cannot find where to add the registry entry in bhtom2/data_sources.py")
        entry = (
            f"    {name} = SourceSpec(\n"
            f"        pretty_name={pretty!r},\n"
            f"        target_name_label={label!r},\n"
            f"        bands={tuple(bands)!r},\n"
            f"        name_pattern=r\"[A-Za-z0-9_.+\\-]{{1,64}}\",\n"
            f"        name_example={example!r},\n"
            f"    )\n\n"
        )
        path.write_text(text.replace(REGISTRY_MARKER, entry + REGISTRY_MARKER, 1))

    def _add_url(self, name: str, url: str) -> None:
        path = ROOT / "bhtom2" / "settings_helpers.py"
        text = path.read_text()
        if URLS_MARKER not in text:
            raise CommandError("cannot find DEFAULT_URLS in bhtom2/settings_helpers.py")
        path.write_text(text.replace(URLS_MARKER, f'\n    "{name}": "{url}",' + URLS_MARKER, 1))

    def _write_fixtures(self, folder: Path, name: str, pretty: str, example: str) -> None:
        folder.mkdir(parents=True)
        rows = ["mjd,mag,magerr,filter,limit"] + [",".join(map(str, row)) for row in SAMPLE_POINTS]
        (folder / "sample_lightcurve.csv").write_text("\n".join(rows) + "\n")
        routes = [{"path": "/lightcurve.csv", "query": {"object": example},
                   "file": "sample_lightcurve.csv", "content_type": "text/csv"}]
        (folder / "routes.json").write_text(json.dumps(routes, indent=2) + "\n")
        scenario = {
            "source": name,
            "target": {"name": f"{example} target", "ra": 10.0, "dec": 20.0, "names": {name: example}},
            "expected_points": len(SAMPLE_POINTS),
            "fault_paths": ["/lightcurve.csv"],
            "parsers": [{"function": f"bhtom2.brokers.{name.lower()}:parse", "files": ["sample_lightcurve.csv"]}],
        }
        (folder / "scenario.json").write_text(json.dumps(scenario, indent=2) + "\n")
        (folder / "PROVENANCE.md").write_text(
            f"# {pretty} fixtures\n\n"
            "| file | source | notes |\n|---|---|---|\n"
            "| `sample_lightcurve.csv` | generated by `manage.py startbroker` | **not real data**: replace it by "
            "a response recorded from the real service and write here where it came from |\n"
        )

    def _write_tests(self, path: Path, module: str, name: str, pretty: str, class_name: str, example: str) -> None:
        template = string.Template((SCAFFOLD / "test_broker.py.tmpl").read_text())
        path.write_text(template.substitute(module=module, name=name, pretty=pretty, class_name=class_name,
                                            example=example))

    def _register(self, settings_line: str) -> None:
        path = ROOT / "settings.py"
        text = path.read_text()
        if SETTINGS_MARKER not in text:
            raise CommandError("cannot find TOM_ALERT_CLASSES in settings.py; add the line by hand")
        path.write_text(text.replace(SETTINGS_MARKER, SETTINGS_MARKER + settings_line + "\n", 1))
