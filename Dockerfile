# wa-bulk: one image for the worker, the dashboard, the simulator and the command line.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY producers ./producers
COPY bench ./bench
RUN npm run build

# The production dependencies alone, installed afresh from the lock file. npm keeps TypeScript even with
# --omit=dev because bull-board's valibot names it as an optional peer; nothing at run time loads it.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node examples ./examples
USER node
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["worker"]
