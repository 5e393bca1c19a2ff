#!/usr/bin/env bash
# Install each Python version given and point the harness at it: find_python reads
# SLIPWAY_PYTHON_3_12-style variables first. Usage: .github/pythons.sh 3.11 3.12 3.13
set -euo pipefail

uv python install "$@"
for version in "$@"; do
    echo "SLIPWAY_PYTHON_${version//./_}=$(uv python find --no-project "$version")" >>"$GITHUB_ENV"
done
