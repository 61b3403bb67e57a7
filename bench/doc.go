// Package bench holds the gateway's end-to-end benchmarks and build checks,
// which run a real Caddy process and so are kept out of the unit tests:
//
//	LLMGW_LOADBENCH=1 go test ./bench -run TestLoadCompare -v -timeout 20m
//	go test ./bench -run TestXcaddyBuild -v
//
// TestLoadCompare compares the llm_gateway handler with a plain
// reverse_proxy in front of the same fake OpenAI upstream; see
// docs/performance.md for the results and how to read them.
package bench
