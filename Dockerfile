# syntax=docker/dockerfile:1.7
#
# One PlayPulse image for every role; the role is the argument:
#
#   docker build -t playpulse .
#   docker run playpulse --role edge          # the default (CMD)
#   docker run playpulse --role processors
#   docker run playpulse --role offers
#
# The code runs as TypeScript through tsx (`node --import tsx`, a production dependency);
# there is no compile step. `npm run build` bundles the designer console into dist/console,
# which the offers role serves. deploy/compose/ and deploy/k8s/ run this image; the ports,
# roles and health paths below are checked against lib/config.ts and bin/roles.ts by
# test/unit/deploy-dockerfile.test.ts.

ARG NODE_IMAGE=node:20.19-bookworm-slim

# ---- build: every dependency, then the console bundle ----------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# ---- prod-deps: production dependencies only ------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime ----------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini is PID 1: it forwards SIGTERM to node (whose handlers drain, lib/shutdown.ts) and
# reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
# Production mode (docs/operations.md "Production mode"): every role refuses to start
# without its own player secret and admin token of at least 32 bytes each. A deployment
# that wants the dev defaults says PLAYPULSE_ENV=development (deploy/k8s/overlays/dev).
ENV NODE_ENV=production PLAYPULSE_ENV=production
WORKDIR /app
# Production dependencies only. esbuild is among them (tsx depends on it), which is what
# offers/console/build.ts imports when it loads; the console itself is prebuilt below.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/lib ./lib
COPY --from=build /app/protocol ./protocol
COPY --from=build /app/designer ./designer
COPY --from=build /app/edge ./edge
COPY --from=build /app/processors ./processors
COPY --from=build /app/offers ./offers
COPY --from=build /app/infra ./infra
COPY --from=build /app/deploy/docker/healthcheck.mjs ./deploy/docker/healthcheck.mjs
COPY --from=build --chown=1000:1000 /app/dist ./dist

# The `node` user of the base image, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000

# EDGE_PORT (WebSocket + health of an edge), ADMIN_PORT (offers: admin API, console),
# HEALTH_PORT (health and metrics of a process without an edge).
EXPOSE 9001 9002 9003

# /healthz on EDGE_PORT or HEALTH_PORT, whichever this role serves.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "deploy/docker/healthcheck.mjs"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--import", "tsx", "bin/start.ts"]
CMD ["--role", "edge"]
