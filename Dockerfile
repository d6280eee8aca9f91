# The iocsim image: every command (simulate, worker, dispatch, webhook-receiver, dashboards, broker) from one package.
# Each package folder of pyproject's [tool.setuptools.package-dir] is copied (tests/deploy checks it).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY sim sim
COPY producers producers
COPY streams streams
COPY consumers consumers
COPY dashboards dashboards
COPY scenarios scenarios
COPY loadtest loadtest
RUN pip install --no-cache-dir . && useradd --create-home iocsim
USER iocsim
ENTRYPOINT ["iocsim"]
CMD ["--help"]
