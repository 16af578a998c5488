"""Reference data: Zhejiang, Lishui (331100) and its nine county-level divisions (GB/T 2260)."""

from django.db import migrations

REGIONS = [
    ("330000", "浙江省", "province", None),
    ("331100", "丽水市", "city", "330000"),
    ("331102", "莲都区", "county", "331100"),
    ("331121", "青田县", "county", "331100"),
    ("331122", "缙云县", "county", "331100"),
    ("331123", "遂昌县", "county", "331100"),
    ("331124", "松阳县", "county", "331100"),
    ("331125", "云和县", "county", "331100"),
    ("331126", "庆元县", "county", "331100"),
    ("331127", "景宁畲族自治县", "county", "331100"),
    ("331181", "龙泉市", "county", "331100"),
]


def seed(apps, schema_editor):
    Region = apps.get_model("institutions", "Region")
    for code, name, level, parent in REGIONS:
        Region.objects.update_or_create(code=code, defaults={"name": name, "level": level, "parent_id": parent})


class Migration(migrations.Migration):
    dependencies = [("institutions", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
