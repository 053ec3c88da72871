# syntax=docker/dockerfile:1
# beamgate: the gateway (default command) and the beep/beam CLIs, installed from the packages' own npm tarballs —
# the same path the packaging test (packages/gateway/test/packaging/) checks. Build: docker build -t beamgate .
# See docs/ops/README.md (this image has not been built on the machine that wrote it: no Docker daemon there).

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages/base/package.json packages/base/
COPY packages/beep/package.json packages/beep/
COPY packages/beam/package.json packages/beam/
COPY packages/gateway/package.json packages/gateway/
RUN npm ci --no-audit --no-fund
COPY packages packages
RUN npx tsc -b \
 && mkdir /pack \
 && for p in base beep beam gateway; do npm pack --silent --pack-destination /pack -w "packages/$p"; done

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/beamgate
COPY --from=build /pack /tmp/pack
RUN npm install --omit=dev --no-audit --no-fund /tmp/pack/*.tgz \
 && rm -rf /tmp/pack \
 && npm cache clean --force
ENV PATH=/opt/beamgate/node_modules/.bin:$PATH
# The image's own user (uid 1000, created by the node image), never root.
USER node
# BEEP, Prometheus (/metrics, /healthz). Publish 6380 too if you turn the embedded RESP listener on.
EXPOSE 10288 9464
# /healthz answers 200 while serving and 503 while draining; node's fetch: the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["beamgate"]
# BEEP on all interfaces; the embedded RESP listener stays off (it refuses a public address without authentication).
# Add TLS/SASL (flags or a config file: BEAMGATE_CONFIG=/etc/beamgate/config.json) before exposing the BEEP port.
CMD ["serve", "--beep", "0.0.0.0:10288", "--resp", "off", "--metrics", "0.0.0.0:9464"]
