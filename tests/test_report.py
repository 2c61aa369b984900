"""Run pages, looked at in a real browser (headless Chromium) the way a person would see them."""

import os
import re
import shutil
import subprocess

import pytest
from test_scripts import assert_one_line_error, run_script, trained_run  # noqa: F401  (the fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def render(page: str, tmp_path):
    """(the DOM after the page's scripts ran, console messages) from headless Chromium."""
    if CHROMIUM is None:
        pytest.fail("Chromium is missing: apt-get install chromium (.ci/run installs it)")
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            "file://" + os.path.abspath(page),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


def test_a_finished_run_page_shows_grid_curves_and_diagnosis(trained_run, tmp_path):  # noqa: F811
    model, run_dir, result = trained_run
    page = os.path.join(run_dir, "index.html")
    assert f"run page: {page}" in result.stdout
    dom, console = render(page, tmp_path)
    assert console == []  # no errors, no warnings
    # both images decoded: the last epoch's grid and the animated GIF of both epochs
    assert 'data-images-loaded="2/2"' in dom
    assert os.path.isfile(os.path.join(run_dir, "images", "progress.gif"))
    assert 'id="grid" class="grid" src="images/epoch_002.png"' in dom
    assert re.search(r'<span id="epoch_label">epoch 2</span>', dom)  # the slider's script ran
    assert dom.count('<polyline class="series"') == 5  # D real, D fake, G, D accuracy on real and fake
    assert "BCE loss" in dom
    verdict = re.search(r'<p class="verdict [a-z]+">([^<]+)</p>', dom).group(1)
    with open(os.path.join(run_dir, "diagnosis.json")) as f:
        assert f'"verdict": "{verdict}"' in f.read()
    assert "finished: 2 epochs" in dom and 'http-equiv="refresh"' not in dom


def test_a_page_written_mid_run_reloads_itself_and_shows_the_eta(trained_run, tmp_path):  # noqa: F811
    """What the page looks like while training: no summary.json or diagnosis yet."""
    _, run_dir, _ = trained_run
    live = tmp_path / "live"
    shutil.copytree(run_dir, live, ignore=shutil.ignore_patterns("summary.json", "diagnosis.json", "index.html"))
    result = run_script("report.py", live)
    assert result.returncode == 0, result.stderr[-2000:]
    dom, console = render(live / "index.html", tmp_path)
    assert console == []
    assert 'http-equiv="refresh"' in dom
    assert re.search(r"training: epoch 2 of 2, step \d+ of \d+, ETA", dom)
    assert "no diagnosis yet" in dom


def test_report_compares_runs_on_one_page(trained_run, tmp_path):  # noqa: F811
    _, run_dir, _ = trained_run
    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    result = run_script("report.py", run_dir, other, "--output", tmp_path / "compare.html")
    assert result.returncode == 0, result.stderr[-2000:]
    dom, console = render(tmp_path / "compare.html", tmp_path)
    assert console == []
    assert "2 runs compared" in dom and 'data-images-loaded="2/2"' in dom
    assert dom.count('<polyline class="series"') == 10


def test_report_refuses_what_is_not_a_run(tmp_path):
    result = run_script("report.py", tmp_path)
    assert_one_line_error(result, "is not a run directory")


def test_each_curve_label_is_drawn_in_its_curves_colour(trained_run, tmp_path):  # noqa: F811
    """The colour a reader sees (Chromium's computed style) of each label, not the attribute the page sets: a
    stylesheet rule for svg text once painted all five grey."""
    from ms_gan.report import SERIES

    _, run_dir, _ = trained_run
    page = tmp_path / "probe.html"
    probe = (
        "<script>window.addEventListener('load', () => { document.body.dataset.labelColours = "
        "[...document.querySelectorAll('svg.curves text.label')].map(t => t.textContent + '=' + "
        "getComputedStyle(t).fill).join('|'); });</script></body>"
    )
    html_text = open(os.path.join(run_dir, "index.html")).read().replace("</body>", probe)
    page.write_text(html_text.replace('src="images/', f'src="{run_dir}/images/'))
    dom, console = render(page, tmp_path)
    assert console == []
    found = dict(pair.split("=") for pair in re.search(r'data-label-colours="([^"]*)"', dom).group(1).split("|"))
    expected = {}
    for label, colour in SERIES.values():
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        expected[label] = f"rgb({r}, {g}, {b})"
    assert found == expected
    assert len({found["D loss on real"], found["D loss on fake"], found["G loss"]}) == 3
