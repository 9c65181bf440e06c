# sha256 of every regular file under the runtimes' model and data directories, with its path, sorted.
# Only contents count: the service_users role changes owners and caps modes on purpose.
# The runtimes' own live databases (MLflow's mlflow.db, Chroma's chroma.sqlite3 and their journals)
# are written by the runtimes themselves on every start; they are left out here, and verify reads
# the records prepare stored in them back through each runtime's API instead.
set -o pipefail
export LC_ALL=C
find "$@" -xdev -type f ! -name 'mlflow.db*' ! -name 'chroma.sqlite3*' -print0 | sort -z | xargs -0 -r sha256sum
