# The orchestrator (API and worker in one process) for docker-compose.yml or any container platform.

# The web console (web/): built with Vite, a dev dependency, in a stage of its own; only its
# output (web/dist) goes into the image.
FROM node:20-bookworm-slim AS console
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY web ./web
COPY src/client ./src/client
COPY src/shared ./src/shared
RUN npx vite build web

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# re2 (linear-time regexes for search_files) is a native addon: when no prebuilt binary can be
# fetched, npm builds it, which needs a compiler and Python; they are removed after the install.
# Scripts are run by `npm rebuild`, not by `npm ci`: the project's own `prepare` (the console's
# build) needs sources this layer does not have yet, and its output comes from the stage above.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild \
 && apt-get purge -y python3 make g++ && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY tsconfig.json ./
COPY src ./src
COPY --from=console /app/web/dist ./web/dist
# Listen on all interfaces inside the container; publish the port to choose who can reach it.
# On a non-loopback interface the API needs API_KEYS or API_KEYS_FILE (or AUTH=off on purpose).
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000
USER node
CMD ["node", "--import", "tsx", "src/main.ts"]
