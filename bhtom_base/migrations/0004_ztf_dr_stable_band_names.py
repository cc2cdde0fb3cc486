"""ZTF DR band names no longer carry the release: ``g(ZTF DR24)`` -> ``g(ZTF DR)``, release -> ``reduction_version``.

Rows of one epoch stored under two releases (the old ``--force`` after a
release change doubled them) become one: the row of the newest release is
kept, the others are deleted. The next update of each pair fetches the
configured release in full (its update state has no release recorded yet).
"""
import re

from django.db import migrations

SOURCE = "ZTF_DR8"
OLD_BAND = re.compile(r"^(?P<band>[^()]+)\(ZTF DR(?P<release>[0-9]{1,3})\)$")
NEW_BAND = re.compile(r"^(?P<band>[^()]+)\(ZTF DR\)$")


def forwards(apps, schema_editor):
    photometry = apps.get_model("tom_dataproducts", "PhotometryReducedDatum")
    rows = photometry.objects.filter(source_name=SOURCE, bandpass__regex=r"\(ZTF DR[0-9]+\)$")
    newest: dict[tuple, tuple[int, int]] = {}
    duplicates: list[int] = []
    renames: dict[str, tuple[str, str]] = {}
    for pk, target_id, bandpass, timestamp, limit in rows.values_list(
        "id", "target_id", "bandpass", "timestamp", "limit"
    ).iterator(chunk_size=20_000):
        match = OLD_BAND.match(bandpass)
        if match is None:
            continue
        release = int(match["release"])
        renames[bandpass] = (f"{match['band']}(ZTF DR)", f"dr{release}")
        key = (target_id, match["band"], timestamp, limit is None)
        kept = newest.get(key)
        if kept is None:
            newest[key] = (release, pk)
        elif release > kept[0]:
            duplicates.append(kept[1])
            newest[key] = (release, pk)
        else:
            duplicates.append(pk)
    for start in range(0, len(duplicates), 5000):
        photometry.objects.filter(pk__in=duplicates[start:start + 5000]).delete()
    for old, (new, release) in renames.items():
        photometry.objects.filter(source_name=SOURCE, bandpass=old).update(bandpass=new, reduction_version=release)


def backwards(apps, schema_editor):
    photometry = apps.get_model("tom_dataproducts", "PhotometryReducedDatum")
    rows = photometry.objects.filter(source_name=SOURCE, bandpass__endswith="(ZTF DR)")
    pairs = set(rows.values_list("bandpass", "reduction_version").distinct())
    for bandpass, release in pairs:
        match = NEW_BAND.match(bandpass)
        if match and re.fullmatch(r"dr[0-9]{1,3}", release or ""):
            rows.filter(bandpass=bandpass, reduction_version=release).update(
                bandpass=f"{match['band']}(ZTF {release.upper()})", reduction_version="")


class Migration(migrations.Migration):
    dependencies = [
        ("bhtom_base", "0003_update_state_reconcile_counts_held_release"),
        ("tom_dataproducts", "0020_remove_astrometryreduceddatum_unique_astrometry_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
