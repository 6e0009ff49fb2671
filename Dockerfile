# The orchestrator (API and worker in one process) for docker-compose.yml or any container platform.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Listen on all interfaces inside the container; publish the port to choose who can reach it.
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000
USER node
CMD ["node", "--import", "tsx", "src/main.ts"]
