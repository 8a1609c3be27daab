# LiteMaaS — the commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PY_VERSION ?= 3.11
UV_VERSION := 0.13.8
UV := .uv/bin/uv
VENV := .venv
ENGINE_DIR := litemaas/proxy_runtime/engine
WEB_NPM := litemaas/web/npm
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: install run test bench lint fmt clean messages image

$(UV):
	python3 -m venv .uv
	.uv/bin/pip install --quiet uv==$(UV_VERSION)

# The venv from the hash-locked uv.lock, the npm locks (engine sidecar, portal assets), then
# LiteLLM's Prisma client generated against our offline engine.
install: $(UV)
	$(UV) sync --frozen
	cd $(ENGINE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	cd $(WEB_NPM) && npm ci --no-audit --no-fund --loglevel=error
	$(VENV)/bin/litemaas proxy generate

run: install
	$(VENV)/bin/litemaas up

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	$(VENV)/bin/python -m tests.bench $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff format --check litemaas hooks tests
	$(VENV)/bin/ruff check litemaas hooks tests
	$(VENV)/bin/mypy litemaas hooks
	PYTHONPATH=hooks $(VENV)/bin/lint-imports

fmt: install
	$(VENV)/bin/ruff format litemaas hooks tests
	$(VENV)/bin/ruff check --fix litemaas hooks tests

# The portal's message catalogs after a template or an N_() label changed.
messages: install
	mkdir -p .run
	$(VENV)/bin/pybabel extract -F litemaas/web/babel.cfg -k N_ --no-location --sort-output --omit-header -o .run/messages.pot .
	$(VENV)/bin/pybabel update -i .run/messages.pot -d litemaas/web/locale --no-wrap --ignore-obsolete --no-fuzzy-matching --ignore-pot-creation-date

# One image for every LiteMaaS process (Containerfile). IMAGE=registry/name:tag names it; deploy
# it by digest (openshift/README.md). Needs podman or buildah.
IMAGE ?= localhost/litemaas:dev
image:
	@if command -v podman >/dev/null 2>&1; then \
		podman build -f Containerfile -t $(IMAGE) . ; \
	elif command -v buildah >/dev/null 2>&1; then \
		buildah bud -f Containerfile -t $(IMAGE) . ; \
	else \
		echo "make image: needs podman or buildah (neither is installed on this machine)" >&2; exit 1; \
	fi

clean:
	rm -rf $(VENV) .uv $(ENGINE_DIR)/node_modules $(WEB_NPM)/node_modules .run
