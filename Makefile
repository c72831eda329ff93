# GapLab build, test and benchmark entry points. `make deps` needs root (apt-get) only when a package is missing.
SWIFT ?= swift
DEBIAN_PACKAGES := libopenblas-dev libsqlite3-dev libpng-dev libjpeg-dev zlib1g-dev libturbojpeg0-dev pkg-config
RELEASE := $(SWIFT) build -c release
BIN := .build/release/gaplab

.PHONY: deps build test bench demo clean

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "Debian packages present: $(DEBIAN_PACKAGES)"; fi

build: deps
	$(RELEASE)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

clean:
	rm -rf .build
