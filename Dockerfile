# Edge Stack daemon (edged) in a container, on Debian 12.
#
#   docker build -t edge-stack .
#   docker run -d --name edged --network host -v edged-state:/var/lib/edged edge-stack
#   docker exec edged edgectl status
#
# --network host: mDNS, and WebRTC's ICE/RTP over UDP on ephemeral ports (or a
#   fixed rtc.portRange), need the host's interfaces; with a bridge network publish
#   -p 7420:7420 (libp2p) and set swarm.announce to the host's address.
# A camera: --device /dev/video0 --group-add video (if the host's /dev/video0 has
#   another gid than the image's video group: --group-add "$(stat -c %g /dev/video0)").
# Own config: -v /etc/edge-stack/edged.yaml:/etc/edge-stack/edged.yaml:ro
# The peer id (identity.key) lives in the volume on /var/lib/edged: keep it.
# The web viewer listens on 127.0.0.1:8090 (reachable on the host with --network
#   host); to serve it on other addresses set web.listen: 0.0.0.0:8090 and web.token.

# Node 24 and the dependencies come from the npm registry (the `node` package);
# Debian's older nodejs/npm only bootstrap `npm ci` and stay in this stage.
FROM debian:bookworm-slim AS build
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends nodejs npm ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/edge-stack
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY README.md ./
COPY bin ./bin
COPY config ./config
COPY src ./src

FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
    gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav \
    python3 python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 \
    libstdc++6 ca-certificates tini \
  && rm -rf /var/lib/apt/lists/*
RUN groupadd --system edged \
  && useradd --system --gid edged --groups video --home-dir /var/lib/edged --shell /usr/sbin/nologin edged \
  && install -d -o edged -g edged -m 0700 /var/lib/edged /var/cache/edged \
  && install -d -o edged -g edged -m 0750 /run/edged \
  && install -d -m 0755 /etc/edge-stack
COPY --from=build /opt/edge-stack /opt/edge-stack
RUN ln -s /opt/edge-stack/bin/edged /usr/local/bin/edged \
  && ln -s /opt/edge-stack/bin/edgectl /usr/local/bin/edgectl \
  && printf '%s\n' \
    '# edged in a container; every key: /opt/edge-stack/config/edged.example.yaml' \
    'stateDir: /var/lib/edged' \
    'control:' \
    '  socket: /run/edged/edged.sock' \
    'swarm:' \
    '  name: default' \
    > /etc/edge-stack/edged.yaml \
  && /opt/edge-stack/bin/edged --print-config --config /etc/edge-stack/edged.yaml >/dev/null

# EDGED_SOCKET is where both edged and edgectl (docker exec, HEALTHCHECK) look.
ENV EDGED_CONFIG=/etc/edge-stack/edged.yaml \
    EDGED_SOCKET=/run/edged/edged.sock \
    NODE_COMPILE_CACHE=/var/cache/edged/node-compile-cache \
    NODE_ENV=production
USER edged
WORKDIR /var/lib/edged
VOLUME ["/var/lib/edged"]
# libp2p (swarm.listen), web viewer/WHEP/metrics (web.listen)
EXPOSE 7420/tcp 8090/tcp
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["edgectl", "status"]
# tini reaps orphans and passes SIGTERM on; edged stops its GStreamer children itself.
ENTRYPOINT ["/usr/bin/tini", "--", "edged"]
