"""Sticky sessions through nginx, for real: 2 replicas (deploy/serve) behind deploy/nginx/convnet.conf (bench/cluster.py),
one Chromium session uploads a photo to Feature maps and changes the capture point; every request of that browser,
its upload and its websocket included, must reach one replica. Without affinity the upload would land on a replica
that has no such session and fail with HTTP 400 (streamlit/streamlit#2936, #4173).

Skipped where nginx is not installed; .ci/run installs it, as it installs Chromium.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from bench.cluster import Cluster, find_nginx
from tests.e2e.e2e_helpers import assert_no_exception, wait_for_condition, wait_until_idle

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (apt-get install -y nginx)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(2, tmp_path_factory.mktemp("cluster")) as running:
        yield running


def test_one_browser_sessions_upload_and_rerun_land_on_the_same_replica(browser, cluster, tmp_path):
    photo = tmp_path / "affinity_cat.png"
    Image.open(ROOT / "assets" / "images" / "cat.png").convert("RGB").resize((321, 207)).save(photo)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{cluster.url}/feature_maps?arch=lenet5")
        page.get_by_text("Top predictions").wait_for(timeout=120_000)
        page.get_by_text("Upload", exact=True).click()
        page.locator("input[type=file]").first.set_input_files(str(photo))
        page.get_by_text("affinity_cat.png: 321x207").wait_for(timeout=60_000)
        page.get_by_text("Output of features.0 (Conv2d)").wait_for(timeout=60_000)
        wait_until_idle(page)
        # a rerun: another capture point, computed on the uploaded photo the session still holds
        picker = page.locator("[data-testid=stMain] [data-testid=stSelectbox]").filter(has_text="Layer or branch point")
        picker.first.locator("input").click()
        page.keyboard.type("features.3 (Conv2d)")
        page.locator("[role=option]").first.wait_for(timeout=30_000)
        page.keyboard.press("Enter")
        page.get_by_text("Output of features.3 (Conv2d): 16x10x10").wait_for(timeout=60_000)
        wait_until_idle(page)
        assert page.get_by_text("affinity_cat.png: 321x207").count() == 1
        assert_no_exception(page)
        route = next(c["value"] for c in context.cookies() if c["name"] == "convnet_route")
    finally:
        context.close()  # nginx logs a websocket when it closes
    assert not errors

    def logged() -> list:
        return [e for e in cluster.log_entries() if e.route == route]

    wait_for_condition(lambda: any(e.uri == "/_stcore/stream" for e in logged()), timeout=20)
    entries = logged()
    uploads = [e for e in entries if e.method == "PUT" and e.uri.startswith("/_stcore/upload_file/")]
    assert uploads and all(e.status in (200, 204) for e in uploads), uploads
    assert [e.status for e in entries if e.uri == "/_stcore/stream"] == [101]
    replicas = {e.upstream for e in entries}
    assert len(replicas) == 1, f"one browser's requests reached {sorted(replicas)}"
    assert cluster.replica_at(replicas.pop()) is not None
