# The iocsim image: every command (simulate, broker, and the later stages) from one package.
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
RUN pip install --no-cache-dir . && useradd --create-home iocsim
USER iocsim
ENTRYPOINT ["iocsim"]
CMD ["--help"]
