"""Every Molecule scenario starts from nothing.

Molecule keeps a scenario's state (created, prepared) in ~/.ansible/tmp/molecule.<hash>.<scenario>,
and the hash is of the checkout directory's *name*: every clone called `main` shares it. A run that
was killed leaves `created: true` behind, and the next clone's `molecule test` then skips create and
prepare and verifies containers that do not exist (CI stop 23). A destroy before create resets that
state and removes any leftover container of the same name.
"""
import pathlib

import pytest
import yaml

MOLECULE = pathlib.Path(__file__).resolve().parents[2] / "molecule"
SCENARIOS = sorted(p.parent.name for p in MOLECULE.glob("*/molecule.yml"))


def test_scenarios_are_found():
    assert len(SCENARIOS) >= 5, SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sequence_destroys_before_create_and_at_the_end(scenario):
    config = yaml.safe_load((MOLECULE / scenario / "molecule.yml").read_text(encoding="utf-8"))
    sequence = [step.split()[0] for step in config.get("scenario", {}).get("test_sequence", [])]
    if not sequence:
        return  # Molecule's default sequence destroys first and last.
    assert "create" in sequence, sequence
    assert "destroy" in sequence[:sequence.index("create")], (
        "%s: add `destroy` before `create` in test_sequence" % scenario)
    assert sequence[-1] == "destroy", sequence
