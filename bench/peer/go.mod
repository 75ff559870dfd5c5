module chiso/bench/peer

// This folder holds the benchmark peer (Node and shell); the nested module
// keeps the Go tool (go test ./...) out of node_modules.

go 1.26
