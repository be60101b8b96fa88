# syntax=docker/dockerfile:1
# npd's container image: `node-problem-detector` (upstream's command line) with the bundled monitor
# configs in /config, as upstream's image has them.
#
#   docker build -t REGISTRY/npd:TAG .
#
# Two stages: the first builds npd's wheel; the second installs it and its dependencies into a
# virtual environment from binary wheels only (google-re2 and cysystemd ship their native code,
# libsystemd included, in manylinux wheels), so the final image has no compiler and no build
# tools, and npd's environment has no pip.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
# Only what the wheel is built from (.dockerignore keeps the rest of the tree out of the context).
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="npd" \
      org.opencontainers.image.description="Node problem detector for Kubernetes, compatible with upstream node-problem-detector" \
      org.opencontainers.image.licenses="Apache-2.0"
# systemctl, for the health checker (docs/health-check.md; deploy/overlays/health-checker): its
# repair is `systemctl restart <unit>` and the cooldown starts at `systemctl show <unit>`'s
# start time, both asked of the *host's* systemd through the /run/systemd (and /run/dbus) the
# overlay mounts; nothing runs systemd in the container. Debian ships systemctl only in the
# systemd package. Cost: about 15 MiB (Installed-Size on Debian 12: systemd 9,668 KiB,
# libsystemd-shared 5,350 KiB), about 19 MiB with the libraries the slim image lacks (cryptsetup,
# device-mapper, p11-kit, kmod, ...). --no-install-recommends keeps dbus and timesyncd out. The
# package's postinst writes an /etc/machine-id, which would be one id shared by every container
# from this image; it is removed again (nothing in npd needs one, see docs/deploy.md).
RUN apt-get update \
    && apt-get install --yes --no-install-recommends systemd \
    && rm -f /etc/machine-id \
    && rm -rf /var/lib/apt/lists/*
ENV VIRTUAL_ENV=/opt/npd
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv "$VIRTUAL_ENV" \
    && "$VIRTUAL_ENV/bin/pip" install --no-cache-dir --only-binary=:all: /wheels/*.whl \
    && "$VIRTUAL_ENV/bin/pip" uninstall --yes pip setuptools \
    # Upstream's image has its binary at /node-problem-detector, and existing manifests and Helm
    # charts run that path.
    && ln -s "$VIRTUAL_ENV/bin/node-problem-detector" /node-problem-detector \
    # The bundled configs, copied out of the installed package (the same files deploy/ mounts).
    && "$VIRTUAL_ENV/bin/python" -c \
       "import shutil, npd.daemon.build as b; shutil.copytree(b.BUNDLED_DIR, '/config')" \
    && /node-problem-detector --version
# Bytecode was compiled at install time; the DaemonSet's root filesystem is read-only.
ENV PATH="$VIRTUAL_ENV/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# Non-root by default. deploy/ runs the container as root (runAsUser: 0) because the host's logs
# are root's: journal files are 0640 root:systemd-journal, and /dev/kmsg needs a privileged pod.
USER 65532:65532

ENTRYPOINT ["/opt/npd/bin/node-problem-detector"]
# Upstream's image runs its kernel monitors by default; npd's runs all the bundled monitors.
# A pod's `args:` replaces this list; its `command:` replaces the entrypoint as well.
CMD ["--config.system-log-monitor=/config/kernel-monitor.json,/config/storage-monitor.json,/config/hardware-monitor.json,/config/network-monitor.json,/config/docker-monitor.json,/config/containerd-monitor.json,/config/kubelet-monitor.json,/config/systemd-monitor.json,/config/timesync-monitor.json", "--config.system-stats-monitor=/config/system-stats-monitor.json", "--logtostderr"]
