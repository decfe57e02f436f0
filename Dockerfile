# syntax=docker/dockerfile:1
# ConvNet Explorer: the app, CPU PyTorch, served by deploy/serve (the command `make loadtest` runs for each replica).
#   docker build -t convnet-explorer .                                   CPU (the default)
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 -t convnet-explorer:cuda .
#                                                                        a CUDA host (run with --gpus all)
#   docker build --build-arg BAKE_WEIGHTS=1 ...                          pretrained weights baked in from weights/
#                                                                        (`make weights` first; README)
FROM python:3.11-slim

# PyTorch's wheel index: CPU by default (pip would otherwise take a CUDA build of several GB)
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG BAKE_WEIGHTS=0

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TORCH_HOME=/opt/torch \
    PYTHON=python \
    PORT=8501 \
    ADDRESS=0.0.0.0

WORKDIR /app

# dependencies first (their layer is reused while only the code changes); torch and torchvision as pinned there
COPY requirements.txt ./
RUN pip install --index-url "$TORCH_INDEX" --extra-index-url https://pypi.org/simple -r requirements.txt

# the app as a checkout lays it out (app.py, app_pages/, explorer/, assets/, .streamlit/config.toml, deploy/serve);
# installed editable so `convnet-explorer` (the CLI) runs the same code
COPY pyproject.toml README.md app.py ./
COPY .streamlit/ .streamlit/
COPY app_pages/ app_pages/
COPY assets/ assets/
COPY explorer/ explorer/
COPY deploy/serve deploy/serve
RUN pip install --no-deps --editable . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin app

# pretrained weights for a classroom behind a firewall: copied into torch hub's cache and loaded once to check them
RUN --mount=type=bind,source=weights,target=/tmp/weights \
    if [ "$BAKE_WEIGHTS" = "1" ]; then convnet-explorer weights --from /tmp/weights/hub/checkpoints; fi

USER 10001:10001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_stcore/health' % os.environ['PORT'], timeout=4)"]
CMD ["deploy/serve"]
