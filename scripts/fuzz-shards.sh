#!/usr/bin/env bash
# Long local fuzzing in shards (issue 18: 10 million inputs per decoder), resumable across sessions.
#   scripts/fuzz-shards.sh TEST_FILE TEST_NAME FIRST LAST [LOG]
# runs shards FIRST..LAST of 250,000 inputs, shard k with seed 2026120700+k, at nice 19, one line per finished shard
# in LOG (default fuzz-shards.log); a shard already PASS in LOG is skipped. A failed shard's output is kept beside LOG.
# Replay one shard: VADC_FUZZ_SEED=<its seed> VADC_FUZZ_ITERATIONS=250000 npx jest -c jest.unit.config.js \
#   --testTimeout 30000000 TEST_FILE -t TEST_NAME
set -u
if [ $# -lt 4 ]; then echo "usage: $0 TEST_FILE TEST_NAME FIRST LAST [LOG]" >&2; exit 2; fi
file=$1; name=$2; first=$3; last=$4; log=${5:-fuzz-shards.log}
for k in $(seq "$first" "$last"); do
  seed=$((2026120700 + k))
  grep -q "^shard $k seed $seed .*PASS" "$log" 2>/dev/null && continue
  start=$(date -u +%H:%M:%S)
  out=$(VADC_FUZZ_SEED=$seed VADC_FUZZ_ITERATIONS=250000 nice -n 19 npx jest -c jest.unit.config.js --testTimeout 30000000 "$file" -t "$name" 2>&1)
  rc=$?
  line=$(echo "$out" | grep -o "$name, seed.*" | head -1)
  if [ $rc -eq 0 ]; then result=PASS; else result="FAIL rc=$rc"; echo "$out" > "$log.shard-$k.fail"; fi
  echo "shard $k seed $seed commit $(git rev-parse --short HEAD) $(date -u +%F) $start-$(date -u +%H:%M:%S) UTC: $line $result" >> "$log"
done
