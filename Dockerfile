# syntax=docker/dockerfile:1
# API and worker image: `npm start` (API, default) or `npm run worker` (see docker-compose.yml).
# The sources run through tsx (a runtime dependency), so there is no compile step to ship.

# --- build: install everything from the lockfile, then keep only what production needs ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime: production dependencies (tsx included), sources and migrations, non-root ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    BACKEND_PORT=4000 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY drizzle ./drizzle
# Code stays root-owned (read-only to the app); only the data dir is the app's
# (embedded PGlite and a generated JWT secret live there when DATABASE_URL / JWT_SECRET are unset).
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.BACKEND_PORT||process.env.PORT||4000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["npm", "start"]
