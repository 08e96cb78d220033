# The full image: for building and running Python code that compiles
# extension modules. Its base is a Debian root that pyston-build makes with
# debootstrap for the image's architecture (a C toolchain and the common
# -dev libraries are in it); nothing is pulled from a registry. On top of
# it goes the interpreter's verified .deb, and python, python3 and pip run
# that interpreter.
#
# pyston-build supplies every build argument (src/packaging/docker/), and
# after the build squashes the layers this file adds into one, with
# SOURCE_DATE_EPOCH as every time in it, so that the image is reproducible
# (src/packaging/docker/normalize.ts). To
# build it by hand from a release in build/dist:
#   docker build --network none -f Dockerfile \
#     --build-arg BASE=<a local Debian image> --build-arg DEB=cpython_3.11.2-1_amd64.deb \
#     --build-arg PREFIX=/usr/lib/cpython build/dist/cpython-3.11.2
ARG BASE
FROM ${BASE}

# The .deb, relative to the build context (the release directory).
ARG DEB
# Where the .deb installs the interpreter (package.prefix).
ARG PREFIX=/usr/lib/cpython
# The labels (org.opencontainers.image.*), from the release.
ARG SOURCE=""
ARG VERSION=""
ARG REVISION=""
ARG CREATED=""
ARG BUILD_INFO_SHA256=""

# A C locale would make Python 3 fall back to ASCII for file names and I/O.
ENV LANG=C.UTF-8

COPY ${DEB} /tmp/interpreter.deb
# dpkg alone: the base already holds every package the .deb depends on,
# and the build has no network.
# dpkg's log is removed: its lines carry the time of the build, and
# pyston-build makes the image reproducible (src/packaging/docker/normalize.ts).
RUN dpkg -i /tmp/interpreter.deb \
    && rm /tmp/interpreter.deb /var/log/dpkg.log \
    && ln -s "${PREFIX}/bin/python3" /usr/local/bin/python3 \
    && ln -s "${PREFIX}/bin/python3" /usr/local/bin/python \
    && ln -s "${PREFIX}/bin/pip3" /usr/local/bin/pip3 \
    && ln -s "${PREFIX}/bin/pip3" /usr/local/bin/pip \
    && python --version && pip --version

LABEL org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      dev.pyston-build.build-info.sha256="${BUILD_INFO_SHA256}"

CMD ["python3"]
