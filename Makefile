# The two commands: `make run` and `make test`. Both install what is missing first.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install system-deps demo-media contact-sheet

PIP := $(VENV)/bin/pip install --quiet --disable-pip-version-check
SAM2 := sam2==1.1.0

# torch first (everything model-related builds on it), then the rest, then sam2: an sdist built
# against the installed torch without build isolation (which would download a second torch).
$(STAMP): requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) $$(grep -E '^(torch|torchvision)==' requirements.txt)
	$(PIP) -r requirements.txt
	SAM2_BUILD_CUDA=0 $(PIP) --no-build-isolation $(SAM2)
	@touch $@

install: $(STAMP)

run: $(STAMP)
	@scripts/system-deps.sh ffmpeg
	@scripts/run.sh

test: $(STAMP)
	@scripts/system-deps.sh ffmpeg chromium
	@scripts/test.sh $(ARGS)
