#!/usr/bin/env bash
# make example-report: regenerate docs/examples/exposed-host/ from a real run.
#   1. start ONE systemd container of aihost-debian12-lab on its own Docker network;
#   2. docs/examples/exposed-host/prepare.yml exposes it on purpose (Jupyter without token and
#      MLflow as root on 0.0.0.0, the Ollama stand-in as root on 0.0.0.0, a world-writable model
#      directory, sshd);
#   3. playbooks/audit.yml (aihost_audit_fail_on=none)  -> before.{md,json}
#      playbooks/site.yml                               -> hardened with the example inventory's policy
#      playbooks/audit.yml again                        -> after.{md,json}
#   4. fleet.html there: the audit's HTML fleet report of the audit after, compared with the audit
#      before as its previous report, and fleet.png, its screenshot in headless Chromium
#      (scripts/example-report-html.py, which `make example-report-html` runs alone);
#   5. README.md there says how the files were made and what changed (generated, not edited).
# The container and the network are removed on every exit, failed or not. KEEP_WORK=1 keeps the
# temporary directory with the full playbook logs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
started=$SECONDS
# The checkout the run used; -dirty when it had uncommitted changes. Read before this script writes
# its own outputs into docs/, which would make every run look dirty.
checkout=$(git describe --always --dirty 2>/dev/null || echo unknown)
out=docs/examples/exposed-host
image=aihost-debian12-lab
name=aihost-example-$$
work=$(mktemp -d /tmp/aihost-example.XXXXXX)

cleanup() {
  local rc=$?
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker network rm "$name" >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ] || [ "${KEEP_WORK:-0}" = 1 ]; then
    echo "example-report: logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

phase() { printf '\n== [%3ds] %s\n' "$((SECONDS - started))" "$*"; }
# Each playbook's output goes to a log; the tail is shown when it fails.
play() {
  local log=$work/$1.log
  shift
  if ! ansible-playbook -i "$out/inventory" "$@" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "example-report: ansible-playbook $* failed (full log: $log)" >&2
    return 1
  fi
  grep -E '^exposed-host +:' "$log" || true
}

phase "start $name ($image) on network $name"
docker network create "$name" >/dev/null
# The platform options of DEVELOPERS.md, plus SYS_PTRACE so root can tie every socket to its process.
docker run -d --name "$name" --hostname exposed-host --network "$name" \
  --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE \
  --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
  -v /sys/fs/cgroup:/sys/fs/cgroup:ro --cgroupns host \
  "$image" /lib/systemd/systemd >/dev/null
for _ in $(seq 60); do
  state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
  case "$state" in running|degraded) break ;; esac
  sleep 1
done
echo "systemd: ${state:-unknown}"
export AIHOST_EXAMPLE_CONTAINER=$name

phase "prepare: expose the host on purpose"
play prepare "$out/prepare.yml"

phase "audit before site.yml"
play audit-before playbooks/audit.yml -e aihost_audit_fail_on=none -e "aihost_audit_report_dir=$work/before"

phase "site.yml with the inventory's policy"
play site playbooks/site.yml

phase "audit after site.yml"
play audit-after playbooks/audit.yml -e aihost_audit_fail_on=none -e "aihost_audit_report_dir=$work/after"

phase "copy the reports into $out"
for when in before after; do
  cp "$work/$when/exposed-host.md" "$out/$when.md"
  cp "$work/$when/exposed-host.json" "$out/$when.json"
done

phase "fleet.html and its screenshot fleet.png"
python3 scripts/example-report-html.py "$out"

versions=$(docker exec "$name" sh -c '
  echo "jupyter-server $(/opt/jupyter/bin/python -c "import jupyter_server; print(jupyter_server.__version__)")"
  echo "mlflow $(/opt/mlflow/bin/python -c "import mlflow; print(mlflow.__version__)")"
  echo "openssh-server $(dpkg-query -W -f "\${Version}" openssh-server)"
  echo "debian $(cat /etc/debian_version)"')
image_id=$(docker image inspect -f '{{.Id}}' "$image")
recipe=$(docker image inspect -f '{{index .Config.Labels "org.aihost.recipe"}}' "$image" 2>/dev/null || true)
collection=$(sed -n 's/^version: *//p' galaxy.yml)
core=$(ansible --version | sed -n '1s/.*core \([0-9.]*\).*/\1/p')
site_recap=$(grep -E '^exposed-host +:' "$work/site.log" | tr -s ' ')

phase "write $out/README.md"
python3 - "$out" "$image" "${image_id#sha256:}" "$recipe" "$collection" "$core" "$versions" "$site_recap" \
  "$((SECONDS - started))" "$checkout" <<'PY'
import datetime
import json
import sys

out, image, image_id, recipe, collection, core, versions, site_recap, seconds, checkout = sys.argv[1:]
reports = {when: json.load(open("%s/%s.json" % (out, when))) for when in ("before", "after")}
order = ["critical", "high", "medium", "low", "info"]


def counts(report):
    findings = report.get("findings") or []
    return {level: sum(1 for f in findings if f.get("severity") == level) for level in order}


def keyed(report):
    return {(f["id"], str(f["subject"])): f for f in report.get("findings") or []}


before, after = keyed(reports["before"]), keyed(reports["after"])
fixed = [before[k] for k in before if k not in after]
kept = [after[k] for k in after if k in before]
new = [after[k] for k in after if k not in before]


def row(f):
    return "| %s | %s | %s | %s |" % (f["severity"], f["id"], str(f["subject"]).replace("|", "\\|"),
                                      f["title"].replace("|", "\\|"))


def table(items):
    if not items:
        return "_none_\n"
    items = sorted(items, key=lambda f: (order.index(f["severity"]) if f["severity"] in order else 9, f["id"]))
    return "\n".join(["| severity | rule | subject | finding |", "|---|---|---|---|"] + [row(f) for f in items]) + "\n"


def runtimes(report):
    lines = []
    for rt in (report.get("aihost_runtime") or {}).get("runtimes") or []:
        listen = ", ".join("%s:%s" % (l.get("address"), l.get("port")) for l in rt.get("listen") or []) or "-"
        auth = {True: "on", False: "off"}.get((rt.get("auth") or {}).get("enabled"), "unknown")
        lines.append("| %s | %s | %s | %s | %s |" % (rt.get("display_name") or rt.get("name"), ", ".join(rt.get("run_as") or []) or "-",
                                                  listen, rt.get("exposure"), auth))
    return "\n".join(["| runtime | runs as | listens on | exposure | auth |", "|---|---|---|---|---|"] + lines) + "\n"


c_before, c_after = counts(reports["before"]), counts(reports["after"])
today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
text = """# A deliberately exposed host, before and after `site.yml`

Generated by `make example-report` (`scripts/example-report.sh`); do not edit by hand, run it again.
Every file here is real output of one run, unchanged: [before.md](before.md) / [before.json](before.json)
is `playbooks/audit.yml` against the exposed host, [after.md](after.md) / [after.json](after.json) the
same audit after `playbooks/site.yml`. [fleet.html](fleet.html) is the audit's HTML fleet report of the
audit after, compared with the audit before as its previous report, and [fleet.png](fleet.png) its
screenshot in headless Chromium (`scripts/example-report-html.py`).

## How it was made

- Generated {today} in {seconds} s, aihost.hardening {collection} (checkout `{checkout}`), ansible-core {core}.
- The host: one systemd container of `{image}` (image `{image_id_short}`, recipe `{recipe}`), named
  `exposed-host` in [inventory/](inventory/hosts.yml) and reached with `community.docker.docker`.
- [prepare.yml](prepare.yml) exposes it the way people run these tools when they just want them to work:
  the real Jupyter Server as root on `0.0.0.0:8888` with token authentication off, the real MLflow
  server as root on `0.0.0.0:5000`, a **labelled stand-in** for Ollama (`tests/standins/ollama.py`,
  reporting the old version 0.12.3; Ollama itself cannot be installed here) as root on
  `0.0.0.0:11434` with `OLLAMA_ORIGINS=*`, a world-writable model directory `/srv/models`,
  world-writable NVIDIA device nodes (made with `mknod`; there is no GPU) and Debian's OpenSSH server.
- Versions on the host: {versions}.
- Commands, in order (`AIHOST_EXAMPLE_CONTAINER` names the container; each audit writes to a temporary
  `aihost_audit_report_dir`, from which `exposed-host.md` and `exposed-host.json` were copied here):

  ```sh
  export AIHOST_EXAMPLE_CONTAINER=aihost-example-<pid>
  ansible-playbook -i docs/examples/exposed-host/inventory docs/examples/exposed-host/prepare.yml
  ansible-playbook -i docs/examples/exposed-host/inventory playbooks/audit.yml -e aihost_audit_fail_on=none \\
    -e aihost_audit_report_dir=<tmp>/before
  ansible-playbook -i docs/examples/exposed-host/inventory playbooks/site.yml
  ansible-playbook -i docs/examples/exposed-host/inventory playbooks/audit.yml -e aihost_audit_fail_on=none \\
    -e aihost_audit_report_dir=<tmp>/after
  ```

  The policy is [inventory/group_vars/all.yml](inventory/group_vars/all.yml): SSH (22/tcp) from the
  admin network `192.0.2.0/24` with its reason, data directories for the new service users, and
  `/srv/models` as a model store.
  `site.yml` recap: `{site_recap}`.

## What changed

| | critical | high | medium | low | info |
|---|---|---|---|---|---|
| before | {b} |
| after | {a} |

Runtimes before:

{rt_before}
Runtimes after:

{rt_after}
Exposure `none`: installed in the lab image (found by its package) but not running.

### Findings fixed by `site.yml`

{fixed}
### Findings still there

{kept}
### Findings new after `site.yml`

{new}""".format(
    today=today, seconds=seconds, checkout=checkout, collection=collection, core=core, image=image, image_id_short=image_id[:12],
    recipe=recipe or "-", versions=", ".join(versions.strip().splitlines()), site_recap=site_recap.strip(),
    b=" | ".join(str(c_before[l]) for l in order), a=" | ".join(str(c_after[l]) for l in order),
    rt_before=runtimes(reports["before"]), rt_after=runtimes(reports["after"]),
    fixed=table(fixed), kept=table(kept), new=table(new))
open("%s/README.md" % out, "w").write(text)
PY
phase "done: $out/{before,after}.{md,json}, $out/fleet.{html,png}, $out/README.md"
