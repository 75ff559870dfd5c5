# Everyday commands. `go run .` and `go test ./...` need nothing else.
.PHONY: run test race generate verify ci fuzz

run:
	go run .

test:
	go test ./...

race:
	go test -race ./...

generate:
	go generate ./...

verify:
	go run . verify -seeds ../shared/seeds

fuzz:
	go test -run='^$$' -fuzz=FuzzLoadObservationsCSV -fuzztime=60s ./loader/

ci:
	bash .ci/run
