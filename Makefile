# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt \
	tests/clients/install_collection.sh | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: demo test test-faults test-rabbitmq test-scale test-openstack bench lint format venv clean messages

$(STAMP): requirements.txt requirements-dev.txt tests/clients/install_collection.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	bash tests/clients/install_collection.sh $(VENV)
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

## Start web, worker, beat and the cloud simulator on demo data; Ctrl-C stops everything.
demo: venv
	@bash scripts/demo.sh

## The whole suite on PostgreSQL (127.0.0.1:5432 unless DATABASE_URL says otherwise): everything
## but the browser in two processes (each with its own test database, Redis, worker and cloudsim),
## then the browser tests, then the fault lane.
test: venv
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 -m "not browser and not faults and not scale" $(PYTEST_ARGS)
	$(BIN)/pytest -m browser $(PYTEST_ARGS)
	$(BIN)/pytest -m faults tests/faults $(PYTEST_ARGS)

## Randomised fault rounds on the default settings: SIGKILLed worker, lost responses, 5xx
## bursts; exactly one VM per request and approval -> completed within build time + 90 s.
test-faults: venv
	$(BIN)/pytest -m faults tests/faults $(PYTEST_ARGS)

## The queue tests with RabbitMQ as the broker instead of Redis: a private vhost on the
## machine's RabbitMQ (127.0.0.1:5672, guest), made and removed with rabbitmqctl. Builds,
## retries, a killed worker, the broker stopped and restarted (docs/deployment.md, "The broker").
RABBITMQ_TESTS ?= tests/integration
test-rabbitmq: venv
	PORTAL_TEST_BROKER=rabbitmq $(BIN)/pytest $(RABBITMQ_TESTS) $(PYTEST_ARGS)

## The portal scaled out on loopback: HAProxy (Debian's haproxy) in front of two gunicorn
## instances, three Celery workers, one beat, PostgreSQL, Redis and cloudsim. SCALE_REQUESTS
## (300) requests through the balancer with Idempotency-Keys while a web instance and a worker
## are killed: each exactly once; three workers >= 2.5x one on a cloud-bound load; one beat.
## Figures in var/scale/report.json.
test-scale: venv
	$(BIN)/pytest -m scale tests/scale $(PYTEST_ARGS)

## The real OpenStack lane: start the lab (a real Keystone/Nova/Neutron/Glance on 127.0.0.1,
## about 2 minutes), run tests/contract/ and tests/openstack/ against it, stop it again.
## LAB_KEEP=1 leaves it running; see tests/openstack/lane.sh for the other knobs.
OPENSTACK_LAB ?= ../shared/openstack-lab
LAB_HOME ?= $(CURDIR)/var/openstack-lab
test-openstack: venv
	OPENSTACK_LAB=$(OPENSTACK_LAB) LAB_HOME=$(LAB_HOME) PYTEST=$(BIN)/pytest \
		PYTEST_ARGS="$(PYTEST_ARGS)" bash tests/openstack/lane.sh

## Figures, not pass/fail: access-filtered lists at scale, approval-to-completed timings,
## VMs per minute against the bound, cloud calls per VM, the API meanwhile, the reconciler; then
## the portal at a million servers and requests over HTTP (its world is built once, minutes, and
## kept in portal_bench_scale for the next run; needs wrk); then the full scale-out round
## (make test-scale with 300 requests; needs haproxy).
bench: venv
	$(BIN)/python -m benchmarks access
	$(BIN)/python -m benchmarks provisioning
	$(BIN)/python -m benchmarks writepath
	$(BIN)/python -m benchmarks reconcile
	$(BIN)/python -m benchmarks showback
	$(BIN)/python -m benchmarks scale --reuse
	$(BIN)/python -m benchmarks sla-working
	$(BIN)/pytest -m scale tests/scale

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var/demo

## French and English: gather the strings to translate into each locale/…/django.po (the portal's
## pages under locale/, each app's under <app>/locale/), then compile the catalogues the portal
## reads. tests/test_translations.py fails while a string has no French.
MESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=tests --ignore=idp --ignore=cloudsim \
	--ignore=benchmarks --ignore=scripts --ignore=docs
messages: venv
	$(BIN)/python manage.py makemessages -l fr --add-location=file $(MESSAGES_IGNORE)
	$(BIN)/python manage.py compilemessages -l fr $(MESSAGES_IGNORE)
