# ssmrandom: make build | demo | test | test-boot | bench | fuzz | check | install | deb | deb-check | clean
GO        ?= go
PREFIX    ?= /usr/local
DESTDIR   ?=
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Fuzz budgets: executions, about 30 s each on a 2-core machine. Counts,
# not durations: with a duration, go1.26's fuzz coordinator can fail a
# clean run with "context deadline exceeded" as time runs out
# (go.dev/issue/75804, fixed in Go 1.27). FUZZTIME=60s overrides them all.
FUZZ_PARSE  ?= 2500000x
FUZZ_VERIFY ?= 700000x
FUZZ_HANDLE ?= 600000x
FUZZ_V1     ?= 1000000x
# The host's seed checks run about 36,000 a second: about 15 s.
FUZZ_HOSTSEED ?= 500000x
# The AMT parsers are small: a few seconds each.
FUZZ_AMT    ?= 100000x
ifdef FUZZTIME
FUZZ_PARSE  := $(FUZZTIME)
FUZZ_VERIFY := $(FUZZTIME)
FUZZ_HANDLE := $(FUZZTIME)
FUZZ_V1     := $(FUZZTIME)
FUZZ_HOSTSEED := $(FUZZTIME)
FUZZ_AMT    := $(FUZZTIME)
endif
# The tests that count allocations or collections, which skip under the
# race detector (it allocates), run once more without it.
NORACE_TESTS = Allocs|ManyKeysCollections
NORACE_PKGS  = $(shell grep -lE 'func Test[A-Za-z]*Allocs|func TestManyKeysCollections' -r internal --include='*_test.go' | xargs -n1 dirname | sort -u | sed 's|^|./|')
# The packages of make test: all but e2e/boot (make test-boot).
TEST_PKGS = $(shell $(GO) list ./... | grep -v '/e2e/boot$$')
BENCHTIME ?= 1s
BENCHCOUNT ?= 1

.PHONY: all build demo test test-short test-boot bench bench-sign bench-e2e fuzz check install deb deb-check clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o ssmrandom ./cmd/ssmrandom

# A throwaway key, a sender and a receiver on loopback for a few seconds:
# what was verified and what was rejected.
demo: build
	./scripts/demo.sh ./ssmrandom

# Every test, after the static checks: every package with the race
# detector, including the end-to-end tests of e2e/ (the built ssmrandom on
# network namespaces, with rngd, and docs/deployment.md's walk-through);
# then e2e/boot (make test-boot alone), which boots VMs for minutes and so
# runs after the others, not beside them. Tests that need root, network
# namespaces, rngd, QEMU or systemd skip without them, and fail instead
# when CI is set. The output is go test's without -v, plus each skipped
# test with its reason, and ends with one line "N passed, N failed, N
# skipped" for all of it (scripts/testsummary). The tests that count
# allocations skip under the race detector and run again without it.
test: check
	$(GO) run ./scripts/testsummary sh -c '$(GO) test -json -race -timeout 10m $(TEST_PKGS); s=$$?; $(GO) test -json -count=1 -run "$(NORACE_TESTS)" $(NORACE_PKGS) || s=1; $(GO) test -json -timeout 30m ./e2e/boot/ || s=1; exit $$s'

test-short:
	$(GO) test -short -timeout 5m $(TEST_PKGS)

# Boot-time delivery (e2e/boot/doc.go): initramfs images booted in QEMU,
# the dracut module, the units under systemd-nspawn. Root and the Debian
# packages .ci/run installs; 5 to 9 minutes.
test-boot:
	$(GO) run ./scripts/testsummary $(GO) test -json -timeout 30m ./e2e/boot/

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./internal/...

# The table of docs/performance.md: sign and verify cost per frame.
bench-sign:
	./bench/sign.sh 10

# Sender and receiver on loopback at rising rates and under forged floods:
# frames/s, loss, CPU per frame, peak RSS (bench/e2e/README.md). Table 4
# floods a member and a non-member at paced rates and writes FLOOD_CSV;
# BASE=PATH adds the previous version's binary as "before" (a few minutes
# in all). scripts/plot-flood.py draws the CSV (docs/performance.md, Flood).
FLOOD_CSV ?= flood.csv
BASE ?=
bench-e2e:
	$(GO) run ./bench/e2e -csv $(FLOOD_CSV) $(if $(BASE),-base $(BASE))

# Each fuzz target for its budget (go test -fuzz takes one target at a time).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZ_PARSE) -timeout 10m ./internal/frame/
	$(GO) test -run '^$$' -fuzz '^FuzzParseV1$$' -fuzztime $(FUZZ_V1) -timeout 10m ./internal/frame/
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZ_VERIFY) -timeout 10m ./internal/sign/
	$(GO) test -run '^$$' -fuzz '^FuzzHandle$$' -fuzztime $(FUZZ_HANDLE) -timeout 10m ./internal/receive/
	$(GO) test -run '^$$' -fuzz '^FuzzHandle$$' -fuzztime $(FUZZ_HOSTSEED) -timeout 10m ./internal/hostseed/
	$(GO) test -run '^$$' -fuzz '^FuzzParseAdvertisement$$' -fuzztime $(FUZZ_AMT) -timeout 10m ./internal/amt/
	$(GO) test -run '^$$' -fuzz '^FuzzParseQuery$$' -fuzztime $(FUZZ_AMT) -timeout 10m ./internal/amt/
	$(GO) test -run '^$$' -fuzz '^FuzzParseData$$' -fuzztime $(FUZZ_AMT) -timeout 10m ./internal/amt/

check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@cp go.mod /tmp/ssmrandom-go.mod.$$$$ && cp go.sum /tmp/ssmrandom-go.sum.$$$$ && \
	  $(GO) mod tidy && \
	  if ! git diff --quiet -- go.mod go.sum 2>/dev/null; then \
	    echo "go mod tidy changed go.mod/go.sum; commit the result"; git diff -- go.mod go.sum; exit 1; fi; \
	  rm -f /tmp/ssmrandom-go.mod.$$$$ /tmp/ssmrandom-go.sum.$$$$

# The binary, its man page and its bash and zsh completion, made by the
# binary itself (ssmrandom man, ssmrandom completion SHELL).
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 0755 ssmrandom $(DESTDIR)$(PREFIX)/bin/ssmrandom
	./ssmrandom man >$(DESTDIR)$(PREFIX)/share/man/man8/ssmrandom.8
	./ssmrandom completion bash >$(DESTDIR)$(PREFIX)/share/bash-completion/completions/ssmrandom
	./ssmrandom completion zsh >$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_ssmrandom
	chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man8/ssmrandom.8 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/ssmrandom $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_ssmrandom

# The Debian package, dist/ssmrandom_<version>_<arch>.deb (packaging/README.md).
deb: build
	./scripts/deb.sh ./ssmrandom dist

# As root: check the .deb's fields, paths and modes, install it, verify the
# units and the man page, run the units' commands, purge it.
deb-check: deb
	./scripts/check-deb.sh dist

clean:
	rm -f ssmrandom flood.csv
	rm -rf dist/ssmrandom_*.deb dist/deb-root.*
	$(GO) clean -testcache
