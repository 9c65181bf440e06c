# aihost.hardening: every target does its own set-up (virtualenv, Docker engine, base images).
#   make audit   read-only audit of this machine (inventories/local)
#   make test    the whole suite: lint, unit, sanity, every Molecule scenario
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
REQUIREMENTS := requirements/controller.txt
VENV_STAMP := $(VENV)/.stamp-$(shell sha256sum $(REQUIREMENTS) | cut -c1-12)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export PY_COLORS := 0
export ANSIBLE_FORCE_COLOR := 0

INVENTORY ?= inventories/local
AUDIT_ARGS ?=
# Scenarios run by `make test`, in this order (cheap ones first).
SCENARIOS ?= $(shell scripts/scenarios.sh)

.PHONY: help venv docker images audit test lint docs unit integration sanity molecule bench clean installed ee changelog-lint example-report browser merge-reports example-report-html
help:
	@echo "make help            this list"
	@echo "make venv            .venv with the pinned controller tools (requirements/controller.txt); targets that need it make it"
	@echo "make audit           read-only audit of this machine: JSON/Markdown/SARIF/JUnit under reports/; fails on findings >= high"
	@echo "                     (AUDIT_ARGS='-e aihost_audit_fail_on=none' only reports; INVENTORY=... audits another inventory)"
	@echo "make test            lint, changelog-lint, unit, browser, integration, sanity, installed, ee and every Molecule scenario"
	@echo "make lint            argument-spec docs check, yamllint, ansible-lint (production profile)"
	@echo "make docs            regenerate each role's defaults/main.yml and README variables from meta/argument_specs.yml"
	@echo "make unit            pytest of the module_utils, modules, filters and role helpers"
	@echo "make browser         the HTML fleet report in headless Chromium (installs Debian's chromium when missing)"
	@echo "make integration     playbooks/audit.yml through ansible-runner against this machine (read-only; tests/integration)"
	@echo "make sanity          ansible-test sanity (pep8, pylint, validate-modules, ...)"
	@echo "make changelog-lint  antsibull-changelog lint of changelogs/fragments and changelog.yaml"
	@echo "make installed       build the tarball, install it offline outside the checkout and run it from there"
	@echo "make ee              ansible-builder context of the execution environment, checked without a registry"
	@echo "make docker          start or install a Docker engine (for Molecule)"
	@echo "make images          build the Molecule base images from the Debian mirror (cached by recipe hash)"
	@echo "make molecule        Molecule scenarios (SCENARIOS='default firewall' for some of them)"
	@echo "make example-report  regenerate docs/examples/exposed-host/ (audit of an exposed container, before and after site.yml)"
	@echo "make example-report-html  docs/examples/exposed-host/fleet.html and fleet.png from its JSON (no Docker)"
	@echo "make merge-reports   REPORTS=dir: one fleet.json/md/html/sarif/junit.xml from every <host>.json there (sliced AWX jobs)"
	@echo "make bench           benchmarks: side-by-side ratios (benchmarks/)"
	@echo "make clean           remove .venv, reports/ and .cache/"

venv: $(VENV_STAMP)
$(VENV_STAMP): $(REQUIREMENTS)
	@command -v $(PYTHON) >/dev/null || { echo "python3 is required (apt-get install python3 python3-venv)"; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get install -y -qq python3-venv >/dev/null; \
	  else echo "python3-venv is required: sudo apt-get install python3-venv"; exit 1; fi; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r $(REQUIREMENTS)
	touch $@

docker:
	@scripts/ensure-docker.sh

images: docker
	@scripts/build-images.sh

audit: venv
	ansible-playbook -i $(INVENTORY) playbooks/audit.yml $(AUDIT_ARGS)

lint: venv
	python scripts/role_docs.py --check
	yamllint -s .
	ansible-lint

# Regenerate each role's defaults/main.yml and README variables from meta/argument_specs.yml.
docs: venv
	python scripts/role_docs.py

unit: venv
	@command -v zstd >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get install -y -qq zstd >/dev/null; \
	  else echo "zstd is required by the updater's .tar.zst test: sudo apt-get install zstd"; exit 1; fi; }
	pytest -q tests/unit roles/*/tests/unit

# The HTML fleet report in headless Chromium: every host and finding, sorting, hostile names inert.
browser: venv
	@scripts/ensure-chromium.sh
	AIHOST_BROWSER_REQUIRED=1 pytest -q tests/browser

# The audit as AWX/AAP runs it: through ansible-runner, against this machine (it only reads the host).
integration: venv
	pytest -q tests/integration

sanity: venv
	scripts/sanity.sh

molecule: venv images
	scripts/run-molecule.sh $(SCENARIOS)

# The collection as users get it: built tarball, clean virtualenv, installed outside the checkout.
installed: venv
	scripts/test-installed.sh

# ansible-builder build context for the execution environment (no registry needed).
ee: venv
	scripts/test-ee.sh

changelog-lint: venv
	antsibull-changelog lint
	antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

# Molecule spends most of its time waiting on systemd, apt and pip, so it runs beside the other
# stages (about 7 minutes off the total on the 2-core CI box). Every stage runs even after a
# failure; Molecule's report comes last; any failure fails the target.
MOLECULE_LOG := .cache/molecule-run.log
test: venv images
	@mkdir -p .cache
	@echo "--- molecule: $(SCENARIOS) (in the background; its report follows the other stages)"
	@scripts/run-molecule.sh $(SCENARIOS) >$(MOLECULE_LOG) 2>&1 & molecule=$$!; \
	status=0; \
	for stage in lint changelog-lint unit browser integration sanity installed ee; do \
	  $(MAKE) --no-print-directory $$stage || { status=1; echo "=== make $$stage FAILED"; }; \
	done; \
	wait $$molecule || status=1; \
	cat $(MOLECULE_LOG); \
	exit $$status

# A real captured example for the docs: one exposed container, audited before and after site.yml.
example-report: venv images
	@scripts/ensure-chromium.sh
	scripts/example-report.sh

# Only fleet.html and its screenshot, from the JSON already in docs/examples/exposed-host/.
example-report-html: venv
	@scripts/ensure-chromium.sh
	python scripts/example-report-html.py docs/examples/exposed-host

# Sliced AWX jobs write their hosts' reports into one directory, each slice a fleet.json of its own:
# one fleet report from every <host>.json there (controller only; MERGE_ARGS='-e aihost_merge_reports_dest=...').
REPORTS ?=
MERGE_ARGS ?=
merge-reports: venv
	@test -n "$(REPORTS)" || { echo "usage: make merge-reports REPORTS=<report directory> [MERGE_ARGS='-e ...']" >&2; exit 2; }
	ansible-playbook -i localhost, playbooks/merge_reports.yml -e aihost_merge_reports_dir="$(REPORTS)" $(MERGE_ARGS)

bench: venv images
	scripts/run-benchmarks.sh

clean:
	rm -rf $(VENV) reports .cache
