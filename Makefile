.PHONY: all deps build lint typecheck test unit demo bench clean

all: build

deps:
	./scripts/install-deps.sh

build: deps
	npx tsc -p tsconfig.build.json

lint: deps
	npx eslint .
	npx tsx scripts/check-cycles.ts

typecheck: deps
	npx tsc -p tsconfig.json --noEmit

## The one test command (README, CI): installs what is missing, builds, lints, type-checks, runs every test.
test: build lint typecheck
	mkdir -p coverage
	npx vitest run --reporter=default --reporter=json --outputFile.json=coverage/vitest.json; rc=$$?; \
	  node scripts/test-summary.mjs coverage/vitest.json; exit $$rc

## The all-in-one lab (docs/lab.md): controller, API/UI on 127.0.0.1:8080, nodes as namespaces; Ctrl-C removes it.
demo: build
	node dist/src/cli/main.js demo

bench: build
	npx tsx bench/codec.ts

clean:
	rm -rf dist coverage
