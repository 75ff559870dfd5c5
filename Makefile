# Everyday commands. `go run .` and `go test ./...` need nothing else.
.PHONY: run test race generate lint verify ci fuzz bench bench-smoke

run:
	go run .

test:
	go test ./...

race:
	go test -race ./...

generate:
	go generate ./...

# gofmt (lists the files it would change), go vet and staticcheck (a go.mod
# tool, so its version is the module's); .ci/run runs this same target.
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go tool staticcheck ./...

verify:
	go run . verify -seeds ../shared/seeds

fuzz:
	go test -run='^$$' -fuzz=FuzzLoadObservationsCSV -fuzztime=60s ./loader/

ci:
	bash .ci/run

# Benchmarks: sizes S and M, chiso vs raw DuckDB vs PostgreSQL + PostGraphile,
# and size L loaded on disk under a memory limit (load rate and memory only).
# Installs the peer (postgresql-15, npm packages) first; writes
# bench/results/*.json and the results block of BENCHMARKS.md.
bench:
	bash bench/peer/setup.sh
	go run ./bench -sizes S,M,L -peer -load-only L

# What CI runs: size XS, chiso and raw DuckDB only, correctness first.
bench-smoke:
	go run ./bench -sizes XS -quick -md=false -out $$(mktemp -d)
