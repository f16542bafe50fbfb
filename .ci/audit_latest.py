"""Known vulnerabilities of the installed packages that are at their index's latest release.

pip-audit asks the index for a package's record at the installed version
(/pypi/NAME/VERSION/json). Where the index serves only the latest record
(/pypi/NAME/json), that record still lists the known vulnerabilities of the latest
release, so every installed package that *is* the latest release can be checked
against it. Packages older than the latest are reported as not checked, by name.

    python .ci/audit_latest.py [--index https://pypi.org/pypi] [--ignore .ci/audit-ignore.txt]

Exit status 1 when a known vulnerability that is not accepted in the ignore file is found.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def same_version(a: str, b: str) -> bool:
    try:
        from packaging.version import Version

        return Version(a) == Version(b)
    except Exception:  # an unparsable version: compare the text
        return a == b


def record(index: str, name: str, attempts: int = 3) -> dict | None:
    """The package's latest record, None if the index has no such package."""
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(f"{index}/{name}/json", timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            problem = f"the index answered {exc.code} for {name}"
        except (OSError, ValueError) as exc:  # unreachable, timed out, or not JSON
            problem = f"the index {index} could not be read ({exc})"
        time.sleep(2**attempt)
    raise SystemExit(f"error: {problem}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default="https://pypi.org/pypi")
    parser.add_argument("--ignore", type=Path, default=Path(__file__).with_name("audit-ignore.txt"))
    args = parser.parse_args()
    accepted = set()
    if args.ignore.exists():
        for line in args.ignore.read_text("utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                accepted.add(line.split()[0])

    installed = {normalize(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}
    with ThreadPoolExecutor(8) as pool:
        records = dict(zip(installed, pool.map(lambda n: record(args.index, n), installed), strict=True))

    checked, older, unknown, found = [], [], [], []
    seen: set[str] = set()  # one finding per vulnerability, whatever the number of its aliases
    for name, version in sorted(installed.items()):
        rec = records[name]
        if rec is None:
            unknown.append(f"{name} {version}")
            continue
        latest = rec["info"]["version"]
        if not same_version(version, latest):
            older.append(f"{name} {version} (latest {latest})")
            continue
        checked.append(name)
        for vuln in rec.get("vulnerabilities") or []:
            if vuln.get("withdrawn"):
                continue
            ids = {vuln["id"], *(vuln.get("aliases") or [])}
            if ids & seen:
                continue
            seen |= ids
            if ids & accepted:
                print(f"accepted (see {args.ignore.name}): {name} {version} {' '.join(sorted(ids & accepted))}")
                continue
            fixed = ", ".join(vuln.get("fixed_in") or []) or "no fixed release"
            found.append(f"{name} {version}: {vuln['id']} (fixed in: {fixed}) {vuln.get('link', '')}".rstrip())

    for line in found:
        print("VULNERABLE", line)
    if older:
        print("not checked, older than the index's latest release:", "; ".join(older))
    if unknown:
        print("not on the index:", "; ".join(unknown))
    print(
        f"latest-release audit: {len(checked)} of {len(installed)} installed packages checked, "
        f"{len(found)} known vulnerabilities, {len(older)} older than latest, {len(unknown)} not on the index"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
