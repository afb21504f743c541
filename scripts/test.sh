#!/usr/bin/env bash
# The project's test command: formatting, vet, the Windows build of the
# binaries and the type check of every package's tests for Windows, the race
# detector on the concurrent packages, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
(cd bench/river && go vet ./...)
GOOS=windows go build -o /dev/null ./cmd/...
# Every package's tests must compile for Windows too (vet type-checks them).
GOOS=windows go vet ./...
go test -race -count=1 -timeout 15m ./engine/ ./agent/ ./sandbox/ ./gitsync/... ./postgres/ ./directory/ ./http/ ./oidcauth/...
go test -count=1 -timeout 18m ./...
