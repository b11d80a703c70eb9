# Multi-stage build: compile TypeScript, then ship only the runtime files.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# vadc talks to OVS over OpenFlow (tcp/ssl) and OVSDB (unix socket or tcp): run with host networking and
# mount the OVSDB socket, e.g. docker run --network host -v /var/run/openvswitch:/var/run/openvswitch vadc start
USER node
ENTRYPOINT ["node", "/app/bin/run.js"]
CMD ["--help"]
