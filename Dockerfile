# The tracerig image: a static tracerig and Debian's CA certificates, nothing
# else. scripts/docker-build.sh builds the binary (CGO_ENABLED=0) and the
# build context this file reads:
#
#   tracerig                  the static binary
#   ca-certificates.crt       /etc/ssl/certs/ca-certificates.crt from Debian's ca-certificates
#   work/, tmp/               empty folders, the working and temporary folders
#
# Run it as any user: mount a folder on /work and the reports land there,
#   docker run --rm -u "$(id -u):$(id -g)" -v "$PWD:/work" tracerig:dev run quickstart
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --chown=65532:65532 work/ /work/
COPY --chown=65532:65532 tmp/ /tmp/
COPY tracerig /tracerig
ENV HOME=/work TMPDIR=/tmp
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/tracerig"]
