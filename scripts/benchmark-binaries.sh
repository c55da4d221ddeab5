# Sourced by the benchmark scripts: sets `bin_dir` to the directory with
# the `mailgate` and `mailgate-load` binaries. With BIN_DIR set, that
# directory is used as it is; otherwise both are built with the cargo
# profile in `profile`.
if [ -n "${BIN_DIR:-}" ]; then
    bin_dir=$BIN_DIR
else
    cargo build --profile "$profile" -p mailgate -p mailgate-load
    target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    bin_dir="$target_dir/$([ "$profile" = dev ] && echo debug || echo "$profile")"
fi
