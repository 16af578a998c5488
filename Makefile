# The two set-up commands are `make demo` and `make test`; everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install demo serve test test-fast lint format lock bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	touch $@

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py demo_seed
	$(BIN)/python manage.py runserver 127.0.0.1:8000 --noreload

test: install
	# No persistent connections: live-server threads must not keep test databases open.
	ZHIPEI_DB_CONN_MAX_AGE=0 $(BIN)/pytest -p no:cacheprovider -n 2 --dist loadfile

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy zhipei

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-pin every dependency (needs `uv` on PATH); commit the new requirements.lock.
lock:
	uv pip compile pyproject.toml --group dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) var/test-*
