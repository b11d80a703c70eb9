# vadc in a container, on the current Node.js LTS (24). Multi-stage: compile TypeScript, then ship only the
# runtime files. (Not built in CI: the CI machine has no container engine; `docker build -t vadc .` here.)
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:24-bookworm-slim
# tini as PID 1: it forwards SIGTERM to vadc and reaps the launch/stop hooks' processes, which a Node.js
# PID 1 would leave as zombies.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# The control socket (/run/vadc) and the runtime state (/var/lib/vadc) must be writable by the user vadc
# runs as; the configuration is mounted read-only, so the state cannot live next to it.
RUN mkdir -p /run/vadc /var/lib/vadc && chown node:node /run/vadc /var/lib/vadc
ENV NODE_ENV=production
# vadc talks to OVS over OpenFlow (tcp/ssl) and OVSDB: run with host networking, e.g.
#   docker run --network host -v /etc/vadc:/etc/vadc:ro -v vadc-state:/var/lib/vadc -v /run/vadc:/run/vadc \
#     vadc start --config /etc/vadc/vadc.yaml --state /var/lib/vadc/vadc.state.yaml
# As the unprivileged user, OVSDB must be reachable over loopback TCP (ovs-vsctl set-manager
# ptcp:6640:127.0.0.1 and `ovsdb: tcp:127.0.0.1:6640`); Debian's /run/openvswitch/db.sock is root-only, so
# mounting it needs --user 0. See docs/operators/deploy-on-hypervisor.md.
USER node
# Healthy = the daemon answers its control API on the default socket (`vadc status` exits 0). For a container
# started with another command (vadc --help, vadc config validate) the check simply reports unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/bin/run.js", "status", "--api", "unix:/run/vadc/vadc.sock"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/run.js"]
CMD ["--help"]
