# syntax=docker/dockerfile:1
# wafgen as a container: `wafgen serve` by default (the API), `wafgen worker` with CMD ["worker"].
# Two stages: the build stage installs every dependency, which runs `prepare` (scripts/prepare.mjs:
# tsc to dist/ and the embedded-database templates in dist/pglite-template*); the runtime stage holds
# production dependencies only, dist/, bin/ and data/, and runs as the image's unprivileged `node` user.
# compose.yaml starts it with PostgreSQL and Redis; test/infra/container.test.ts checks both files.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY data ./data
RUN npm ci --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    WAFGEN_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` needs the dev dependencies (tsc); its output comes from the build stage.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY data ./data
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/wafgen.js"]
CMD ["serve"]
