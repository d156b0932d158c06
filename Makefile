# The README quotes these targets. Python 3.11; everything installs into ./.venv.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/brickinvoice
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PORT ?= 8000

.PHONY: install run test test-browser lint lock ci messages

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml requirements/constraints.txt
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e ".[test]"
	touch $@

install: $(VENV)/.installed

## Run the whole product on the embedded default: SQLite, no Redis, sandbox stores and Fatture.
run: install
	SANDBOX=$${SANDBOX:-true} SANDBOX_BASE_URL=$${SANDBOX_BASE_URL:-http://127.0.0.1:$(PORT)/sandbox} \
		$(BIN)/python manage.py rundemo --port $(PORT)

TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL)

## The test suite, on PostgreSQL (and Redis for the worker tests). The browser journey runs in a
## second session: Playwright keeps an event loop in pytest's thread for the rest of a session.
test: install
	$(TEST_ENV) $(BIN)/pytest -m "not browser" $(ARGS)
	$(MAKE) --no-print-directory test-browser

## Only the browser journey, in Debian's headless Chromium (.ci/browser-deps installs it).
test-browser: install
	$(TEST_ENV) $(BIN)/pytest -m browser $(ARGS) || [ $$? -eq 5 ]

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/python manage.py makemigrations --check --dry-run

## The Italian catalogue: collect every marked string into locale/it/LC_MESSAGES/django.po, then
## compile the .mo the product loads (committed: running needs no gettext). Needs Debian's gettext.
## The sandbox, bench and tests stay English-only and are not collected (tests/test_i18n_catalogue.py
## checks the catalogue the same way).
MESSAGES_IGNORE := --ignore=.venv --ignore=sandbox --ignore='templates/sandbox/*' --ignore=bench --ignore=tests \
	--ignore=docs --ignore=staticfiles --ignore=var --ignore='*.egg-info'
messages: install
	$(BIN)/python manage.py makemessages --locale=it --no-wrap --add-location=file --no-obsolete $(MESSAGES_IGNORE)
	$(BIN)/python manage.py compilemessages --locale=it --ignore=.venv

## Regenerate the locked transitive set after changing pyproject.toml.
lock: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/pip freeze --exclude-editable | sed '1i # Locked transitive set for a reproducible install: pip install -c requirements/constraints.txt -e ".[test]"' > requirements/constraints.txt

ci:
	bash .ci/run
