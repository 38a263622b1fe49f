#!/usr/bin/env bash
# Benchmark of gpgseal-maildir: figures only, never a pass/fail test.
#
# Usage: bench/maildir_bench.sh [BUILD_DIR] [COUNT]     (defaults: build, 10000)
#
# Builds a Maildir of COUNT small messages (4-50 KiB: text with a base64
# attachment, LF line ends, Dovecot-style names with S=/W= and flags) and a
# throwaway keyring, then reports:
# - one `gpg --encrypt` process start on a 16 KiB message (wall and CPU, mean
#   of 20 runs), the floor for any tool that starts gpg per message
#   (encmaildir.sh does);
# - one run of the gpgseal filter on the same message (mean of 20 runs);
# - gpgseal-maildir over the whole Maildir with --jobs = all cores: wall time,
#   messages per second, wall time per message, and the CPU time per message
#   of gpgseal-maildir and all its gpg children (user + system);
# - the same over the first 1000 messages with --jobs 1, for the scaling;
# - a second run over the whole, now encrypted, Maildir (detection only).
# Prints the machine's load average before each measurement: figures taken on
# a busy machine are slower.
set -Eeuo pipefail

BUILD=${1:-build}
COUNT=${2:-10000}
TOOL=$(realpath "$BUILD/gpgseal-maildir")
FILTER=$(realpath "$BUILD/gpgseal")
[[ -x $TOOL && -x $FILTER ]] || { echo "build $BUILD first (cmake --build $BUILD)" >&2; exit 1; }
CORES=$(nproc)
ADDRESS=bench@example.org

work=$(mktemp -d "${TMPDIR:-/tmp}/gpgseal-maildir-bench.XXXXXX")
cleanup() {
  GNUPGHOME=$work/gnupg gpgconf --kill all 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -m 0700 "$work/gnupg"
export GNUPGHOME=$work/gnupg
gpg --batch --quiet --passphrase '' --quick-gen-key "Bench <$ADDRESS>" future-default default never \
  </dev/null 2>/dev/null
# Settle the trust database now: a check during the runs would write the keyring directory, and
# gpgseal remembers key choices only from a keyring not written in the last two seconds.
gpg --batch --check-trustdb >/dev/null 2>&1 || true
sleep 3

python3 - "$work" "$COUNT" <<'PY'
import base64, os, random, sys
work, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(20250303)
for sub in ("cur", "new", "tmp"):
    os.makedirs(f"{work}/Maildir/{sub}")
    os.makedirs(f"{work}/Maildir1000/{sub}")
def message(n, size):
    head = (f"From: Sender {n} <sender{n}@example.net>\nTo: Bench <bench@example.org>\n"
            f"Subject: Stored message {n}\nDate: Mon, 03 Mar 2025 10:00:00 +0000\n"
            f"Message-ID: <bench-{n}@example.net>\nMIME-Version: 1.0\n"
            'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
            "Content-Type: text/plain\n\nThe report is attached.\n--b\n"
            "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n")
    raw = max(0, (size - len(head) - 8) * 3 // 4)
    return (head + base64.encodebytes(rng.randbytes(raw)).decode() + "--b--\n").encode()
with open(f"{work}/sample.eml", "wb") as f:
    f.write(message(0, 16 * 1024))
for n in range(count):
    data = message(n, rng.randint(4 * 1024, 50 * 1024))
    lfs = data.count(b"\n")
    name = f"{1600000000 + n}.M{n}P1.bench,S={len(data)},W={len(data) + lfs}:2,S"
    for folder in ("Maildir", "Maildir1000") if n < 1000 else ("Maildir",):
        with open(f"{work}/{folder}/cur/{name}", "wb") as f:
            f.write(data)
PY

load() { cut -d' ' -f1 /proc/loadavg; }

# timed OUT COMMAND...: runs COMMAND with stdout to OUT and prints "WALL CPU"
# in seconds. CPU is user + system of the whole process tree: gpg is started
# through a double fork, so we become a child subreaper to collect it.
timed() {
  python3 - "$@" <<'PY'
import ctypes, os, resource, subprocess, sys, time
PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
start = time.monotonic()
with open(sys.argv[1], "wb") as out:
    subprocess.run(sys.argv[2:], stdout=out, check=True)
wall = time.monotonic() - start
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall} {usage.ru_utime + usage.ru_stime}")
PY
}

# per_run RUNS COMMAND...: "WALL CPU" of one run of COMMAND (stdin: the 16 KiB
# sample), averaged over RUNS runs.
per_run() {
  local runs=$1 times
  shift
  # shellcheck disable=SC2016  # expanded by the inner bash
  times=$(timed /dev/null bash -c \
    'n=$1; shift; for ((i = 0; i < n; i++)); do "$@" <"$SAMPLE" >/dev/null 2>&1; done' \
    _ "$runs" "$@")
  awk -v t="$times" -v n="$runs" 'BEGIN { split(t, x, " "); print x[1] / n, x[2] / n }'
}

# run_maildir LABEL DIR JOBS: times one gpgseal-maildir run and prints a row.
run_maildir() {
  local label=$1 dir=$2 jobs=$3 n times
  n=$(find "$work/$dir/cur" -type f | wc -l)
  echo "# $label: load average $(load)" >&2
  times=$(timed "$work/$label.out" "$TOOL" --jobs "$jobs" --progress never "$work/$dir" "$ADDRESS")
  awk -v label="$label" -v n="$n" -v jobs="$jobs" -v times="$times" 'BEGIN {
      split(times, t, " ")
      printf "| %s | %d | %d | %.1f s | %.1f | %.1f ms | %.1f ms |\n", label, n, jobs, t[1],
        n / t[1], 1000 * t[1] / n, 1000 * t[2] / n }'
}

echo "# load average $(load) on $CORES cores, $(gpg --version | head -n 1)" >&2
export SAMPLE=$work/sample.eml
gpg_times=$(per_run 20 gpg --batch --armor --trust-model always --encrypt -r "$ADDRESS")
filter_times=$(per_run 20 "$FILTER" --log none "$ADDRESS")
awk -v g="$gpg_times" -v f="$filter_times" 'BEGIN {
  split(g, gt, " "); split(f, ft, " ")
  printf "one gpg --encrypt process (16 KiB): %.1f ms wall, %.1f ms CPU\n", 1000 * gt[1], 1000 * gt[2]
  printf "one gpgseal filter run (16 KiB):    %.1f ms wall, %.1f ms CPU\n\n", 1000 * ft[1], 1000 * ft[2] }'
echo "| run | messages | jobs | wall | messages/s | wall per message | CPU per message |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
run_maildir "encrypt-all" Maildir "$CORES"
run_maildir "encrypt-1000-one-job" Maildir1000 1
run_maildir "second-run" Maildir "$CORES"
grep -E '^(encrypted|failed) ' "$work/encrypt-all.out" | tr -s ' ' | paste -sd ';' >&2
