# douane worker / model server image. Not built on the development machines (no Docker engine
# there); kept working for deployments that have Docker.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DOUANE_HOME=/var/lib/douane \
    DOUANE_KEYS_DIR=/var/lib/douane-keys \
    DOUANE_LOG_FORMAT=json \
    TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS=""

# DOUANE_HOME is readable by douane only (audit log, keys, vault): 0700 whatever useradd's default.
# The signing and period keys are in their own volume, never backed up with the data
# (docs/retention.md): /var/lib/douane-keys, 0700 too.
RUN useradd --system --home /var/lib/douane --create-home douane && chmod 0700 /var/lib/douane \
 && install -d -m 0700 -o douane -g douane /var/lib/douane-keys
WORKDIR /opt/douane
# the locked versions only (requirements/, written by scripts/lock-requirements.sh), each file
# checked against its sha256; then douane itself, with no dependency fetched
COPY requirements ./requirements
RUN pip install --no-cache-dir --require-hashes --only-binary :all: -r requirements/tools.txt \
 && pip install --no-cache-dir --require-hashes --only-binary :all: -r requirements/runtime.txt \
 && pip install --no-cache-dir --require-hashes --only-binary :all: --no-deps \
      -r requirements/no-deps.txt
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY schemas ./schemas
COPY policies ./policies
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e .

USER douane
VOLUME ["/var/lib/douane", "/var/lib/douane-keys"]
ENTRYPOINT ["douane"]
CMD ["worker"]
