# sha256 of every regular file under the runtimes' model and data directories, with its path, sorted.
# Only contents count: the service_users role changes owners and caps modes on purpose.
# Chroma's directory is left out: Chroma itself rewrites its SQLite store and its HNSW index files
# (length.bin, data_level0.bin) in the background; verify reads the records prepare stored there back
# through Chroma's API instead (and MLflow's, for the database MLflow writes at every start).
set -o pipefail
export LC_ALL=C
find "$@" -xdev -type f ! -name 'mlflow.db*' -print0 | sort -z | xargs -0 -r sha256sum
