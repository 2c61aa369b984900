"""The README's and docs' tables are what benchmarks/tables.py writes from the runs' own files, and every doc is
within its length and links to files that exist."""

import importlib.util
import os
import re

import pytest
from conftest import ROOT


def tables():
    spec = importlib.util.spec_from_file_location("tables", os.path.join(ROOT, "benchmarks", "tables.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", list(tables().TABLES))
def test_each_table_is_the_one_the_script_writes(name):
    module = tables()
    expected = module.TABLES[name]()
    assert expected.count("\n") > 3
    for place in module.PLACES[name]:
        text = open(os.path.join(ROOT, place)).read()
        found = re.search(rf"<!-- table:{name} -->\n(.*?)\n<!-- /table:{name} -->", text, re.S)
        assert found, f"{place} has no {name} table"
        assert found.group(1) == expected, f"{place}'s {name} table is stale: python benchmarks/tables.py --write"


def test_the_results_commands_are_train_py_commands_that_parse():
    import sys

    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    spec = importlib.util.spec_from_file_location("train_script", os.path.join(ROOT, "scripts", "train.py"))
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    for line in tables().results_table().split("```bash\n")[1].splitlines():
        if line.startswith("python scripts/train.py"):
            args = train.parse_args(line.split("#")[0].split()[2:])
            train.build_config(args)  # a valid config, or this raises


def test_the_front_door_is_short_and_every_link_resolves():
    readme = open(os.path.join(ROOT, "README.md")).read()
    assert readme.count("\n") <= 300
    pages = [os.path.join(ROOT, "README.md")] + [
        os.path.join(ROOT, "docs", p) for p in os.listdir(os.path.join(ROOT, "docs")) if p.endswith(".md")
    ]
    for page in pages:
        text = open(page).read()
        assert text.count("\n") <= 400, page
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(page), target))
            assert os.path.exists(path), f"{os.path.relpath(page, ROOT)} links to {target}, which does not exist"
        assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), f"{page} carries a date: history belongs in git log"
