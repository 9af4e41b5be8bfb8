#!/usr/bin/env python3
"""Checks the payloads Vigil sent to Teams, Opsgenie and Datadog against the schemas beside this file.

Usage: check_payloads.py PAYLOADS_JSONL

Each line: {"kind": "teams" | "opsgenie-create" | "opsgenie-action" | "datadog", "body": "<the JSON text sent>"}.
Prints every violation and exits 1 if there is any. Needs jsonschema_rs (the JSON Schema validator
schemathesis brings; scripts/test installs it in .build/schemathesis). Where each schema comes from:
the `$comment` at its top, and SOURCES.md.
"""
import json
import sys
from pathlib import Path

import jsonschema_rs

here = Path(__file__).parent


def load(name):
    return json.loads((here / name).read_text())


opsgenie = load("opsgenie-alert-api.json")
validators = {
    "teams": jsonschema_rs.validator_for(load("teams-workflows-message.json")),
    "adaptive-card": jsonschema_rs.validator_for(load("adaptive-card-1.4.json")),
    "opsgenie-create": jsonschema_rs.validator_for(dict(opsgenie["definitions"]["create"], definitions=opsgenie["definitions"])),
    "opsgenie-action": jsonschema_rs.validator_for(opsgenie["definitions"]["action"]),
    "datadog": jsonschema_rs.validator_for(load("datadog-events-v2-alert.json")),
}

problems = []
checked = 0
for number, line in enumerate(Path(sys.argv[1]).read_text().splitlines(), 1):
    record = json.loads(line)
    body = json.loads(record["body"])
    kinds = [record["kind"]] + (["adaptive-card"] if record["kind"] == "teams" else [])
    for kind in kinds:
        instance = body["attachments"][0]["content"] if kind == "adaptive-card" else body
        for error in validators[kind].iter_errors(instance):
            problems.append(f"line {number} ({kind}): {error.message[:300]}")
        checked += 1
for problem in problems:
    print(problem)
print(f"{checked} payloads checked, {len(problems)} problems")
sys.exit(1 if problems else 0)
