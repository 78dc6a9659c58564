// Package agents measures what the local provider's agents cost on one
// host: the memory (RSS) and idle CPU of the agents of many services, each
// running two versions, with one agent process per service (the default)
// and with one shared agent for them all (shared-agent). Run it with
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/agents/
//
// RAMP_BENCH_SERVICES sets the number of services (default 50).
package agents
