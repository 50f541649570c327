# syntax=docker/dockerfile:1
# API and worker image. The container's process is node itself on the compiled entry points
# (`node dist/node/server.js`, the default; `node dist/node/worker.js` for workers, see
# docker-compose.yml), so SIGTERM reaches the app and its graceful shutdown runs.
# Nothing here runs TypeScript: `npm run build` compiles src/ at image build time.

# --- build: install everything from the lockfile, compile, then keep only what production needs ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.ts ./scripts/build.ts
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime: production dependencies, the compiled entry points and migrations, non-root ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    BACKEND_PORT=4000
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# package.json says the compiled files are ES modules ("type": "module").
COPY package.json ./
COPY drizzle ./drizzle
# Code stays root-owned (read-only to the app); only the data dir is the app's
# (embedded PGlite and a generated JWT secret live there when DATABASE_URL / JWT_SECRET are unset).
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.BACKEND_PORT||process.env.PORT||4000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/node/server.js"]
