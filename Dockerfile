# secret-rotator: build with the dev dependencies, run with the production ones only, as a non-root user.
#
# Layout of the running image (WORKDIR is /, so the config's relative defaults land here):
#   /app     the code (read-only for the worker)
#   /config  config/rotator.yaml, the default --config path (mount it)
#   /data    the volume for the audit trail (./data/audit.jsonl) and a file store (./data/secrets.json)
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts
# Everything .dockerignore lets through (no tests, no bench); tsconfig.image.json builds src and jobs only.
COPY . .
RUN npx tsc -p tsconfig.image.json

FROM node:24-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="secret-rotator" \
      org.opencontainers.image.description="Scheduled secret-rotation worker for Naver Cloud CDSS, Huawei Cloud CSS and Open Telekom Cloud CSS passwords" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-slim"
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
# Created before VOLUME and owned by node: a new named volume starts as a copy of it (owner included).
RUN mkdir -p /data && chown node:node /data && chmod 0750 /data
VOLUME ["/data"]
WORKDIR /
USER node
# The HTTP server (http.port in the config; config/docker/rotator.yaml uses 8080 on 0.0.0.0).
EXPOSE 8080
# node:24-slim has no curl: Node's fetch asks /healthz (no credential needed).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "/app/dist/src/cli/bin.js", "worker"]
