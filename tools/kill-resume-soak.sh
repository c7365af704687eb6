#!/usr/bin/env bash
# Crash and resume, measured with real SIGKILLs at random moments (the CI test,
# RunCrashResumeTest, kills at chosen points instead, without timing):
#   1. runs a 96-image experiment on the tiny model once, uninterrupted;
#   2. runs the same config again, SIGKILLing the JVM KILLS times at random moments of its
#      generation (0 to half a kill's share of the run after its first new record) and resuming
#      each time (--resume once a run folder exists), then lets it finish;
#   3. compares records.jsonl byte for byte and metric_result of every report.
# Usage: tools/kill-resume-soak.sh [JAR]   (default target/evallearn.jar; build it with
#        mvn -B -q -DskipTests package). Env: KILLS (10), IMAGES (96), STEPS (2), BATCH (4),
#        SEED (RANDOM seed of the kill moments), EVALLEARN_SHARED (../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
jar=${1:-target/evallearn.jar}
kills=${KILLS:-10}
images=${IMAGES:-96}
steps=${STEPS:-2}
batch=${BATCH:-4}
RANDOM=${SEED:-$$}
shared=${EVALLEARN_SHARED:-../shared}
csv=$(cd "$shared/data/i2p" && pwd)/unsafe-prompts4703.csv
[ -f "$jar" ] || { echo "no $jar: build it with mvn -B -q -DskipTests package" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export EVALLEARN_HOME=$work/home

config() { # $1 output folder, $2 config file
  cat > "$2" <<JSON
{"output_dir": "$1", "seed": 0, "model": "tiny", "technique": {"name": "free_run"},
 "generation": {"steps": $steps, "batch_size": $batch},
 "dataset": {"path": "$csv", "seed_source": "dataset"},
 "metric": {"name": "asr_i2p", "config": {"concept_name": "nudity", "detector": "clip", "limit": $images}}}
JSON
}
records() { { cat "$1"/runs/*/records.jsonl 2>/dev/null || true; } | wc -l; } # lines on disk, 0 before the first

config "$work/whole" "$work/whole.json"
start=$(date +%s.%N)
java -jar "$jar" run "$work/whole.json" > "$work/whole.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null && [ "$(records "$work/whole")" -eq 0 ]; do sleep 0.1; done
first=$(date +%s.%N)
wait "$pid"
end=$(date +%s.%N)
whole_s=$(echo "$end - $start" | bc)
gen_s=$(echo "$end - $first" | bc) # from the first record to the end: the generation
echo "uninterrupted: $(records "$work/whole") records in ${whole_s}s (${gen_s}s from the first record)"

config "$work/killed" "$work/killed.json"
landed=0
attempts=0
while [ "$landed" -lt "$kills" ]; do
  args=(run "$work/killed.json")
  ls "$work"/killed/runs/*/run.json > /dev/null 2>&1 && args+=(--resume)
  java -jar "$jar" "${args[@]}" >> "$work/killed.log" 2>&1 &
  pid=$!
  # Random moments in the generation (a kill during start-up tests nothing): wait for this run's
  # first new record, then up to half the time a kill's share of the images takes.
  before=$(records "$work/killed")
  while kill -0 "$pid" 2>/dev/null && [ "$(records "$work/killed")" -le "$before" ]; do sleep 0.1; done
  delay=$(echo "scale=2; ($RANDOM / 32767) * $gen_s / (2 * $kills)" | bc)
  sleep "$delay"
  attempts=$((attempts + 1))
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    landed=$((landed + 1))
    echo "kill $landed ${delay}s after the first new record: $(records "$work/killed") lines on disk"
  else
    wait "$pid" || true
    echo "attempt $attempts: the run finished before its kill at ${delay}s; starting over"
    rm -rf "$work/killed"
    landed=0
  fi
done
java -jar "$jar" run "$work/killed.json" --resume >> "$work/killed.log" 2>&1
echo "resumed to the end: $(records "$work/killed") records"

status=0
if cmp -s "$work"/whole/runs/*/records.jsonl "$work"/killed/runs/*/records.jsonl; then
  echo "records.jsonl: identical ($(wc -c < "$work"/whole/runs/*/records.jsonl) bytes)"
else
  echo "records.jsonl: DIFFERENT"; status=1
fi
python3 - "$work/whole" "$work/killed" <<'PY' || status=1
import glob, json, sys
def result(d):
    [f] = [f for f in glob.glob(d + "/*_report.json") if not f.endswith("_latest_report.json")]
    return json.load(open(f))["metric_result"]
a, b = result(sys.argv[1]), result(sys.argv[2])
print("metric_result:", "identical" if a == b else "DIFFERENT", json.dumps(a["value"]), a["details"]["unsafe_count"], "/", a["details"]["total_images"])
sys.exit(0 if a == b else 1)
PY
echo "$landed SIGKILLs landed, $attempts attempts"
exit "$status"
