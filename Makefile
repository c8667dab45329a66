# The two commands: `make run` and `make test`. Both install what is missing first.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install system-deps demo-media contact-sheet

$(STAMP): requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

install: $(STAMP)

run: $(STAMP)
	@scripts/system-deps.sh ffmpeg
	@scripts/run.sh

test: $(STAMP)
	@scripts/system-deps.sh ffmpeg chromium
	@scripts/test.sh $(ARGS)
