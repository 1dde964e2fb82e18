# One image for every Frontdesk process: the command picks api, realtime, worker or migrate.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libgomp1: the OpenMP runtime the offline speech engines (CTranslate2, onnxruntime) load.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY frontdesk ./frontdesk
RUN pip install '.[offline]'

RUN useradd --create-home --uid 10001 frontdesk \
    && mkdir -p /app/var \
    && chown frontdesk:frontdesk /app/var
USER frontdesk

# Inside a container the servers listen on every interface; compose publishes the ports.
ENV FRONTDESK_API_HOST=0.0.0.0 \
    FRONTDESK_LOG_JSON=true

EXPOSE 8000 8001
CMD ["frontdesk", "api"]
