#!/bin/sh
# Writes the seed corpora into fuzz/corpus/<target>/ from the repository's own test data
# (see examples/seed.rs). The corpora are not committed; run this once before fuzzing.
set -eu
fuzz_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz_dir")
cargo run --quiet --manifest-path "$fuzz_dir/Cargo.toml" --example seed -- "$root" "$fuzz_dir/corpus"
