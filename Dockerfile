# syntax=docker/dockerfile:1
# Compass in a container: the wheel and its dependencies are built in a first
# stage; the image that runs holds only the installed packages, runs as an
# unprivileged user and keeps its state (SQLite, keys, CA) in the volume /data.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY compass ./compass
# The project's wheel, then wheels of everything it depends on, so that the
# runtime stage installs without a network.
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && pip wheel --wheel-dir /wheels /wheels/compass_py-*.whl

FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COMPASS_DATA_DIR=/data \
    COMPASS_HOST=0.0.0.0
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels compass-py
# A fixed UID, so that files in a volume keep an owner across image updates.
RUN groupadd --system --gid 10001 compass \
    && useradd --system --uid 10001 --gid compass --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin compass \
    && mkdir /data && chown compass:compass /data && chmod 0700 /data
USER compass
WORKDIR /data
VOLUME ["/data"]
# 3000: public listener (GraphiQL, tokens, OAuth); 3443: mutual-TLS listener.
EXPOSE 3000 3443
# Python rather than curl: the slim image has no curl. /readyz answers 503
# while the database is unreachable, which urlopen raises as an error.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('COMPASS_PORT', '3000'), timeout=4)"]
ENTRYPOINT ["compass"]
CMD ["serve", "--host", "0.0.0.0"]
