// Package packaging holds the tests of how tracerig reaches users outside a
// Go build: the image the repository's Dockerfile makes
// (scripts/docker-build.sh), and the CI jobs docs/ci.md gives to copy, whose
// commands the tests run as written.
package packaging
