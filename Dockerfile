# secret-rotator: build with the dev dependencies, run with the production ones only, as a non-root user.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts
# Everything .dockerignore lets through (sources, tsconfig, config); tsconfig.build.json picks what to build.
COPY . .
RUN npm run build

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
USER node
CMD ["node", "dist/src/cli/bin.js", "worker"]
