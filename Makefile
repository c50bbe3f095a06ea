# Brook's front door. `make up` starts a local cluster, `make test` runs every
# test. Both install dependencies (npm ci) on a fresh checkout.

NODES ?= 3

.PHONY: build test test-unit test-e2e lint format docs up down clean logs logs-last bench bench-streams bench-connect failover-bench chaos chaos-kafka chaos-power-loss fuzz

node_modules/.package-lock.json: package-lock.json
	npm ci
	@touch $@

build: node_modules/.package-lock.json
	node scripts/gen-proto.mjs
	node --import tsx scripts/gen-kafka.mjs
	npx tsc -b

test: build
	npx vitest run

test-unit: node_modules/.package-lock.json
	node scripts/gen-proto.mjs
	node --import tsx scripts/gen-kafka.mjs
	npx vitest run packages

test-e2e: build
	npx vitest run test-e2e

lint: build
	npx biome check .
	npx tsc -p test-e2e
	npx tsc -p examples

format: node_modules/.package-lock.json
	npx biome check --write .

# Regenerates docs/configuration.md from the config schemas (a unit test fails while it is stale).
docs: node_modules/.package-lock.json
	node scripts/gen-proto.mjs
	node --conditions=source --import tsx scripts/gen-config-docs.mjs

# Data-path figures against the running cluster (make up first): echo baseline, produce, consume.
bench: build
	scripts/bench.sh

# Brook Streams throughput against the running cluster (make up): the SDK's consume-produce loop, mapValues
# and groupByKey-count at least and exactly once, and a restore (docs/streams.md, "Performance").
bench-streams: build
	node --import tsx scripts/bench-streams.ts

# Brook Connect throughput against the running cluster (make up): file-source → topic on one and three
# workers, at least and exactly once; topic → postgres-sink (upserts) with tasks.max 1 and 3; and the SDK's
# consume-produce copy loop as the baseline (needs PostgreSQL installed; PROFILE_DIR=dir for --cpu-prof).
bench-connect: build
	node --import tsx scripts/bench-connect.ts

# Starts whichever of the local nodes are not running and waits until they serve.
up: build
	NODES=$(NODES) scripts/cluster.sh up

down:
	scripts/cluster.sh down

clean: down
	rm -rf .brook

# The `make up` nodes' logs (.brook/node-<id>/node.log) through pino-pretty, one line per entry:
# `make logs` shows each node's last LOG_LINES lines and follows them all (Ctrl-C stops);
# `make logs-last` prints those lines, node by node, and exits.
LOG_LINES ?= 200
PRETTY_LOGS = npx pino-pretty --singleLine --translateTime SYS:HH:MM:ss.l \
  --ignore pid,hostname,nodeId,role,component \
  --messageFormat 'node {nodeId}{if role} {role}{end}{if component}/{component}{end}: {msg}'

logs: node_modules/.package-lock.json
	@tail -q -n $(LOG_LINES) -F .brook/node-*/node.log | $(PRETTY_LOGS)

logs-last: node_modules/.package-lock.json
	@tail -q -n $(LOG_LINES) .brook/node-*/node.log | $(PRETTY_LOGS)

# Broker failover on three real nodes: FAILOVER_KILLS SIGKILLs of a broker
# (not the active controller) with a 100-partition topic; prints p50/p99 of
# the time from the kill to new leaders for all its partitions.
failover-bench: build
	FAILOVER_KILLS=$${FAILOVER_KILLS:-20} npx vitest run test-e2e/broker-failover.test.ts

# Chaos on three real nodes: CHAOS_KILLS faults (default 50; make test runs one of each kind, 3 more with
# kafkajs and 5 power losses) under acks=all load, then every partition is read back and checked
# (test-e2e/chaos). The faults: SIGKILL a leader, the active controller or a follower, every node at once
# (power loss), SIGSTOP a leader, and, each node in a network namespace of its own (root, ip and nft), cut
# a leader off, split a leader or the controller from the other nodes, drop one direction, 30% loss,
# flapping links, a slow link. CHAOS_KINDS=<kind,...> narrows them (`make chaos-power-loss`). The load comes
# from Brook's SDK, or with CHAOS_CLIENT=kafka (`make chaos-kafka`) from kafkajs on the Kafka listeners.
# CHAOS_SEED=<n> replays the fault choices. Every kind's p99 time until a produce succeeds again is held
# under CHAOS_FAILOVER_P99_MS_MAX (power loss aside: its nodes start again). A transactional pipeline
# (test-e2e/chaos/pipeline.test.ts) runs the same number of faults against exactly-once processing, and so
# does an exactly-once Brook Streams count by key (test-e2e/chaos/streams.test.ts); CHAOS_TESTS=<file>
# runs one of them. Each report's summary line is printed again at the end.
CHAOS_CLIENT ?= brook
CHAOS_TESTS ?= test-e2e/chaos
CHAOS_FAILOVER_P99_MS_MAX ?= 3000
chaos: build
	@mkdir -p .brook
	@rm -f .brook/chaos-report.txt
	@CHAOS_CLIENT=$(CHAOS_CLIENT) CHAOS_KINDS=$(CHAOS_KINDS) CHAOS_KILLS=$${CHAOS_KILLS:-50} CHAOS_REPORT=$(CURDIR)/.brook/chaos-report.txt \
	  CHAOS_FAILOVER_P99_MS_MAX=$(CHAOS_FAILOVER_P99_MS_MAX) npx vitest run $(CHAOS_TESTS); \
	  status=$$?; grep -E '^(chaos|pipeline|streams): ' .brook/chaos-report.txt 2>/dev/null; exit $$status

# Every node SIGKILLed in the same instant and started again, CHAOS_KILLS times (default 30), under acks=all load.
chaos-power-loss:
	@CHAOS_KILLS=$${CHAOS_KILLS:-30} $(MAKE) --no-print-directory chaos CHAOS_KINDS=power-loss \
	  CHAOS_TESTS=test-e2e/chaos/chaos.test.ts

chaos-kafka:
	@$(MAKE) --no-print-directory chaos CHAOS_CLIENT=kafka

# The network-level fuzzer on a live node (test-e2e/fuzz.test.ts): random and mutated requests to every
# gRPC method and to the Kafka listener while an acks=all workload runs, for FUZZ_MS (default 5 minutes;
# make test runs 20 s). Fails if the node dies, logs a fatal or error line, grows past FUZZ_RSS_MAX_MB of
# resident memory (512), or loses an acknowledged record. FUZZ_SEED=<n> replays the request choices.
fuzz: build
	FUZZ_MS=$${FUZZ_MS:-300000} npx vitest run test-e2e/fuzz.test.ts
