# EnKash Sandbox: a local, stateful emulator of EnKash's partner APIs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENKASH_SANDBOX_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY openapi ./openapi
COPY sandbox ./sandbox
COPY fixtures ./fixtures
# the postgres extra: the compose file's shared profile runs this image against PostgreSQL
RUN pip install --no-cache-dir "./[postgres]" \
    && useradd --create-home --uid 10001 sandbox \
    && mkdir -p /data \
    && chown sandbox:sandbox /data

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080

# loopback only: the health check never needs DNS or the network
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/_sandbox/health', timeout=2).status == 200 else 1)"]

# bound beyond loopback inside the container, so `serve` wants ENKASH_SANDBOX_ADMIN_TOKEN
# (docker run -e ENKASH_SANDBOX_ADMIN_TOKEN=... -p 127.0.0.1:8080:8080 enkash-sandbox)
ENTRYPOINT ["enkash-sandbox"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
